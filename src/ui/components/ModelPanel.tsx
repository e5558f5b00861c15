// Model choice: a bundled checkpoint (ModelChoice, in the bar at the top of the page), or a Hugging
// Face GPT-2 / ViT opened from disk (the Model panel) — config.json
// with model.safetensors, or with model.safetensors.index.json and its shards (file picker or
// drag-and-drop, several files at once; names and sizes are checked before anything is read, the
// index before the shards: lab/model-files.ts) — and the summary of what is loaded. hide=model
// removes the choice (radios and files); Load and the summary stay.
import { useEffect, useState, type DragEvent } from 'react';
import { TOKENIZER_LABEL } from '../../data/tokenizer';
import { BUNDLED_MODELS } from '../../lab/assets';
import { useLab } from '../../state/store';
import { formatBytes } from '../format';
import { useShown } from '../use-shown';

/** The model radios (bundled checkpoints, and the one opened from disk once there is one). */
export function ModelChoice() {
  const draft = useLab((s) => s.draft);
  const custom = useLab((s) => s.custom);
  const disabled = useLab((s) => !!s.run.busy || s.run.state === 'running');
  const chooseBundled = useLab((s) => s.chooseBundled);
  return (
    <fieldset className="choices bar-choices" disabled={disabled}>
      <legend>Model</legend>
      {BUNDLED_MODELS.map((name) => (
        <label key={name} className="choice">
          <input type="radio" name="model" value={name} checked={!custom && draft.model === name} onChange={() => chooseBundled(name)} />
          {name} <span className="small">{name === 'tiny-gpt' ? '(byte-level GPT-2, English + code)' : '(ViT, Fashion-MNIST)'}</span>
        </label>
      ))}
      <label className="choice">
        <input type="radio" name="model" value="custom" checked={!!custom} readOnly disabled={!custom} />
        From disk{custom ? `: ${custom.name} (${custom.files}, ${formatBytes(custom.bytes)})` : ' (open the files below)'}
      </label>
    </fieldset>
  );
}

export function ModelPanel() {
  const draft = useLab((s) => s.draft);
  const custom = useLab((s) => s.custom);
  const model = useLab((s) => s.model);
  const disabled = useLab((s) => !!s.run.busy || s.run.state === 'running');
  const openFiles = useLab((s) => s.openFiles);
  const loadModel = useLab((s) => s.loadModel);
  const [over, setOver] = useState(false);
  const choose = useShown().field('model');
  // a file dropped next to the drop zone would make the browser navigate away from the lab
  useEffect(() => {
    const stop = (e: Event) => e.preventDefault();
    window.addEventListener('dragover', stop);
    window.addEventListener('drop', stop);
    return () => {
      window.removeEventListener('dragover', stop);
      window.removeEventListener('drop', stop);
    };
  }, []);

  const onFiles = (files: FileList | null) => {
    if (files && files.length) void openFiles([...files]).catch(() => {});
  };
  const onDrop = (ev: DragEvent) => {
    ev.preventDefault();
    setOver(false);
    if (!disabled) onFiles(ev.dataTransfer.files);
  };

  return (
    <section className="panel" aria-labelledby="model-title" data-testid="model-panel">
      <h2 id="model-title">Model files and summary</h2>
      {choose && (
        <>
          <p className="small">Pick a bundled model in the bar at the top, or open your own here.</p>
          <div
            className={`dropzone${over ? ' dropzone-over' : ''}`}
            onDragOver={(ev) => {
              ev.preventDefault();
              setOver(true);
            }}
            onDragLeave={() => setOver(false)}
            onDrop={onDrop}
            data-testid="dropzone"
          >
            <label htmlFor="model-files">Hugging Face GPT-2 or ViT: config.json and its .safetensors weights</label>
            <input
              id="model-files"
              type="file"
              multiple
              accept=".safetensors,.json,application/json"
              disabled={disabled}
              onChange={(ev) => onFiles(ev.target.files)}
            />
            <p className="small">
              …or drop them here, all at once: config.json with model.safetensors, or with model.safetensors.index.json and every shard it names
              (model-00001-of-00002.safetensors, …). Other files of the model&apos;s folder are left out. A checkpoint over 2 GiB is refused. A GPT-2 reads the
              lab&apos;s text with its own tokenizer: bytes (a 256-token vocabulary) or GPT-2&apos;s BPE (50,257 tokens, every GPT-2 on the Hugging Face hub).
            </p>
          </div>
        </>
      )}
      <button type="button" onClick={() => void loadModel().catch(() => {})} disabled={disabled} data-testid="load-model">
        Load {custom ? custom.name : draft.model}
      </button>
      {model && (
        <dl className="kv" data-testid="model-summary">
          <div className="kv-row">
            <dt>Model</dt>
            <dd>
              {model.name} ({model.kind === 'gpt2' ? 'GPT-2' : 'ViT'})
            </dd>
          </div>
          <div className="kv-row">
            <dt>Parameters</dt>
            <dd>{model.parameters.toLocaleString('en')}</dd>
          </div>
          <div className="kv-row">
            <dt>Layers</dt>
            <dd>{model.layers}</dd>
          </div>
          {model.tokenizer && (
            <div className="kv-row">
              <dt>Tokenizer</dt>
              <dd data-testid="model-tokenizer">{TOKENIZER_LABEL[model.tokenizer]}</dd>
            </div>
          )}
          <div className="kv-row">
            <dt>Masked weights</dt>
            <dd>
              {model.maskedWeights.toLocaleString('en')} in {model.sites.length} Linears
            </dd>
          </div>
          <div className="kv-row">
            <dt>Learning state</dt>
            <dd>{formatBytes(model.learningStateBytes)} (logits, gradient, Adam moments)</dd>
          </div>
          {model.memoryPlan && (
            <div className="kv-row">
              <dt>Memory plan</dt>
              <dd data-testid="memory-plan">
                <details>
                  <summary>{model.memoryPlan.totals[0]}</summary>
                  <p className="small">{model.memoryPlan.title}</p>
                  <div className="table-scroll" data-scroll-container>
                    <table className="small">
                      <thead>
                        <tr>
                          {model.memoryPlan.columns.map((c) => (
                            <th scope="col" key={c}>
                              {c}
                            </th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {model.memoryPlan.rows.map((r) => (
                          <tr key={r[0] + r[1]}>
                            {r.map((c, i) => (
                              <td key={i}>{c}</td>
                            ))}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                  {model.memoryPlan.totals.slice(1).map((t) => (
                    <p className="small" key={t}>
                      {t}
                    </p>
                  ))}
                </details>
              </dd>
            </div>
          )}
          <div className="kv-row">
            <dt>Masked Linears</dt>
            <dd>
              <details>
                <summary>{model.sites.length} weights</summary>
                <ul className="mono sites">
                  {model.sites.map((s) => (
                    <li key={s.name}>
                      {s.name} [{s.shape.join('×')}] {s.layout}
                    </li>
                  ))}
                </ul>
              </details>
            </dd>
          </div>
        </dl>
      )}
    </section>
  );
}
