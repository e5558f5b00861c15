// Every experiment control from FIELDS, each labelled and with its one-line help; presets; the
// prior mask file — all under an "Advanced" disclosure, collapsed at first (the model, the method and
// Run are in the bar at the top of the page, LabBar.tsx); problems and URL warnings stay outside it.
// Values are checked with checkField as they are typed; an invalid value shows its message and is
// not applied. Controls named in hide= are not rendered (their values stay; see
// ../visibility.ts); App leaves the panel out when nothing in it is shown.
import { memo, useState } from 'react';
import { checkField, crossCheck, FIELDS, type ExperimentConfig, type FieldSpec, type PresetName } from '../../lab/config';
import { checkUserFile } from '../../lab/files';
import { needsLoad } from '../../state/session-slice';
import { useLab } from '../../state/store';
import { useShown } from '../use-shown';

const PRESET_LABELS: Record<PresetName, string> = {
  tunedSmall: 'Tuned for small models',
  paperLLM: 'Paper LLM recipe',
  paperViT: 'Paper ViT recipe',
};

// memo: a field re-renders when its own value or the disabled flag changes, not with every other field
const FieldControl = memo(function FieldControl({
  spec,
  value,
  disabled,
}: {
  spec: FieldSpec;
  value: ExperimentConfig[keyof ExperimentConfig];
  disabled: boolean;
}) {
  const setField = useLab((s) => s.setField);
  const [text, setText] = useState(String(value));
  const [error, setError] = useState<string | null>(null);
  // a new value from the store (preset, URL, automation) replaces what is typed: adjusted while
  // rendering, React's pattern for state that follows a prop (an effect would render twice)
  const [shown, setShown] = useState(value);
  if (shown !== value) {
    setShown(value);
    setText(String(value));
    setError(null);
  }
  const id = `field-${spec.key}`;
  const help = `${id}-help`;
  const commit = (raw: unknown) => {
    try {
      setField(spec.key, checkField(spec, raw) as never);
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  let input;
  if (spec.kind === 'bool') {
    input = (
      <input
        id={id}
        data-testid={id}
        type="checkbox"
        checked={value as boolean}
        disabled={disabled}
        aria-describedby={help}
        onChange={(e) => commit(e.target.checked)}
      />
    );
  } else if (spec.kind === 'choice') {
    input = (
      <select id={id} data-testid={id} value={value as string} disabled={disabled} aria-describedby={help} onChange={(e) => commit(e.target.value)}>
        {spec.choices!.map((c) => (
          <option key={c} value={c}>
            {spec.key === 'preset' ? PRESET_LABELS[c as PresetName] : c}
          </option>
        ))}
      </select>
    );
  } else {
    input = (
      <input
        id={id}
        data-testid={id}
        type="text"
        inputMode={spec.kind === 'int' ? 'numeric' : 'decimal'}
        value={text}
        disabled={disabled}
        aria-describedby={help}
        aria-invalid={error !== null}
        onChange={(e) => {
          setText(e.target.value);
          commit(e.target.value.trim() === '' ? Number.NaN : Number(e.target.value));
        }}
      />
    );
  }
  return (
    <div className={`field field-${spec.kind}`}>
      <label htmlFor={id}>{spec.label}</label>
      {input}
      <p id={help} className="small help">
        {spec.help}
      </p>
      {error && (
        <p className="error-text small" role="alert">
          {error}
        </p>
      )}
    </div>
  );
});

export function ConfigPanel() {
  const draft = useLab((s) => s.draft);
  const loaded = useLab((s) => s.loaded);
  const warnings = useLab((s) => s.warnings);
  // one boolean, so the panel re-renders when it flips, not at every run-state or busy change
  const disabled = useLab((s) => !!s.run.busy || s.run.state === 'running');
  const applyPreset = useLab((s) => s.applyPreset);
  const setPriorFile = useLab((s) => s.setPriorFile);
  const shown = useShown();
  const [priorNote, setPriorNote] = useState<string | null>(null);
  // open from the start when the URL asks for a prior file: only the user can pick it, in here
  const [advanced, setAdvanced] = useState(draft.prior === 'file');
  const byKey = new Map(FIELDS.map((f) => [f.key, f]));
  const problems = crossCheck(draft);
  const dirty = loaded !== null && needsLoad(loaded, draft);

  const onPrior = async (files: FileList | null) => {
    const f = files?.[0];
    if (!f) return;
    try {
      checkUserFile(f, 'mask'); // size only, before reading a byte (USER_FILE_LIMITS)
    } catch (e) {
      return setPriorNote((e as Error).message);
    }
    await setPriorFile(new Uint8Array(await f.arrayBuffer()));
    setPriorNote(`Prior mask: ${f.name} (checked against the model when it loads).`);
  };

  const groups = shown.groups();
  // The file picker stays even when hide= names prior (or the whole Method group): prior=file from
  // the URL cannot run without a file, and only the user can pick one.
  const priorFile = draft.prior === 'file' && (
    <div className="field">
      <label htmlFor="prior-file">Prior mask file (.safetensors or packed)</label>
      <input id="prior-file" type="file" onChange={(e) => void onPrior(e.target.files)} />
      {priorNote && <p className="small">{priorNote}</p>}
    </div>
  );

  return (
    <section className="panel panel-full" aria-labelledby="config-title" data-testid="config-panel">
      <h2 id="config-title">Experiment</h2>
      {problems.length > 0 && (
        <ul className="error-text small" role="alert">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      {warnings.length > 0 && (
        <ul className="small" aria-label="Configuration warnings">
          {warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {dirty && (
        <p className="note small" data-testid="config-dirty">
          Changed since the model was loaded: the run uses the new values after Load (or Run before the first step).
        </p>
      )}
      {/* Collapsed at first: the model, the method and Run are in the bar at the top. Closed <details>
          content is not rendered, so a test (or a reader) opens it before using a field. */}
      <details className="advanced" data-testid="advanced" open={advanced} onToggle={(e) => setAdvanced(e.currentTarget.open)}>
        <summary data-testid="advanced-toggle">Advanced: every setting, with what it does</summary>
        {shown.field('preset') && (
          <div className="presets" role="group" aria-label="Presets" data-testid="presets">
            {(Object.keys(PRESET_LABELS) as PresetName[]).map((p) => (
              <button
                key={p}
                type="button"
                className={draft.preset === p ? 'secondary active' : 'secondary'}
                aria-pressed={draft.preset === p}
                disabled={disabled}
                onClick={() => applyPreset(p)}
              >
                {PRESET_LABELS[p]}
              </button>
            ))}
          </div>
        )}
        {groups.map((g) => (
          <fieldset key={g.title} className="field-group" disabled={disabled}>
            <legend>{g.title}</legend>
            {g.keys.map((k) => (
              <FieldControl key={k} spec={byKey.get(k)!} value={draft[k]} disabled={disabled} />
            ))}
            {g.title === 'Method' && priorFile}
          </fieldset>
        ))}
        {!groups.some((g) => g.title === 'Method') && priorFile && (
          <fieldset className="field-group" disabled={disabled}>
            <legend>Prior</legend>
            {priorFile}
          </fieldset>
        )}
      </details>
    </section>
  );
}
