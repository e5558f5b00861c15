// A link to the experiment on screen: the settings that differ from the defaults, as the URL query
// (encodeConfigToSearch; docs/EMBED.md). The link carries only the experiment, not embed=, hide= or
// origins=, so it opens the full lab.
import { useState } from 'react';
import { encodeConfigToSearch } from '../../lab/url-config';
import { useLab } from '../../state/store';

export function SharePanel() {
  const draft = useLab((s) => s.draft);
  const custom = useLab((s) => s.custom);
  const [note, setNote] = useState<string | null>(null);
  const url = `${location.origin}${location.pathname}${encodeConfigToSearch(draft)}`;

  const copy = async () => {
    try {
      // Trap: inside an iframe the clipboard needs the embedding page's allow="clipboard-write";
      // without it (or outside a secure context) writeText rejects and the user copies by hand.
      await navigator.clipboard.writeText(url);
      setNote('Link copied.');
    } catch {
      const input = document.getElementById('share-url') as HTMLInputElement | null;
      input?.focus();
      input?.select();
      setNote('Copying is not allowed here: the link is selected, copy it with Ctrl+C (⌘C).');
    }
  };

  return (
    <section className="panel" aria-labelledby="share-title" data-testid="share-panel">
      <h2 id="share-title">Share</h2>
      <div className="field">
        <label htmlFor="share-url">Link to this experiment (the settings that differ from the defaults)</label>
        <input id="share-url" data-testid="share-url" type="text" readOnly value={url} onFocus={(e) => e.target.select()} />
      </div>
      <div className="buttons">
        <button type="button" className="secondary" onClick={() => void copy()} data-testid="share-copy">
          Copy link
        </button>
        <a href={url} target="_blank" rel="noopener noreferrer">
          Open in a new tab
        </a>
      </div>
      {custom && <p className="small note">The model was opened from disk: the link names it, but whoever opens the link has to open the same files.</p>}
      {note && (
        <p className="small" role="status">
          {note}
        </p>
      )}
    </section>
  );
}
