// The bar at the top of the page: the model, the method and the run controls in one compact row (it
// wraps on narrow screens). Every other setting is in the Experiment panel's "Advanced" disclosure.
// hide=model and hide=method remove their parts here as in the Advanced settings.
import { checkField, FIELDS, type ExperimentConfig } from '../../lab/config';
import { useLab } from '../../state/store';
import { useShown } from '../use-shown';
import { ModelChoice } from './ModelPanel';
import { RunPanel } from './RunPanel';

const METHOD = FIELDS.find((f) => f.key === 'method')!;
const METHOD_LABELS: Record<ExperimentConfig['method'], string> = {
  maskllm: 'MaskLLM (learned)',
  magnitude: 'Magnitude (one-shot)',
  wanda: 'Wanda (one-shot)',
  sparsegpt: 'SparseGPT (one-shot)',
};

/** The method as a select of its own; the Advanced settings' "Method" field is the same value. */
function MethodChoice() {
  const method = useLab((s) => s.draft.method);
  const disabled = useLab((s) => !!s.run.busy || s.run.state === 'running');
  const setField = useLab((s) => s.setField);
  return (
    <div className="bar-method">
      <label htmlFor="bar-method">Method</label>
      <select
        id="bar-method"
        data-testid="bar-method"
        value={method}
        disabled={disabled}
        title={METHOD.help}
        onChange={(e) => setField('method', checkField(METHOD, e.target.value) as ExperimentConfig['method'])}
      >
        {METHOD.choices!.map((c) => (
          <option key={c} value={c}>
            {METHOD_LABELS[c as ExperimentConfig['method']] ?? c}
          </option>
        ))}
      </select>
    </div>
  );
}

export function LabBar() {
  const shown = useShown();
  return (
    <section className="panel lab-bar" aria-label="Model, method and run" data-testid="lab-bar">
      {shown.field('model') && <ModelChoice />}
      {shown.field('method') && <MethodChoice />}
      <RunPanel />
    </section>
  );
}
