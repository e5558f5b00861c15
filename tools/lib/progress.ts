// Terminal output of the headless runs (learn, regress): the metrics of a result row in one line and
// a progress printer over the session's events.
import type { EvalMetrics, SessionEvent } from '../../src/lab/session';
import type { StepMetrics } from '../../src/sparsity/learner';

const fmt = (x: number | undefined, d = 4) => (x === undefined || !Number.isFinite(x) ? '–' : Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(d));

export function describeMetrics(m: EvalMetrics): string {
  const parts: string[] = [];
  // bits per byte (docs/EVALUATION.md) compares models with different tokenizers; PPL is per token
  const bpb = (x: number | undefined) => (x === undefined ? '' : ` (${fmt(x)} bits/byte)`);
  if (m.en) parts.push(`ppl en ${fmt(m.en.ppl)}${bpb(m.en.bitsPerByte)}`);
  if (m.code) parts.push(`ppl code ${fmt(m.code.ppl)}${bpb(m.code.bitsPerByte)}`);
  if (m.val) parts.push(`val acc ${(100 * m.val.accuracy).toFixed(2)}%`);
  if (m.test) parts.push(`test acc ${(100 * m.test.accuracy).toFixed(2)}%`);
  return parts.join(', ');
}

export function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

/** Terminal progress: one updating line on a TTY, plain lines otherwise; evaluations on their own lines. */
export function progressPrinter(out: NodeJS.WriteStream = process.stdout): (e: SessionEvent) => void {
  const tty = out.isTTY === true;
  let last: StepMetrics | null = null;
  let open = false;
  let lastPhase = '';
  const line = (s: string, final = false) => {
    if (tty) {
      out.write(`\r\x1b[2K${s}${final ? '\n' : ''}`);
      open = !final;
    } else out.write(`${s}\n`);
  };
  const newline = () => {
    if (tty && open) out.write('\n');
    open = false;
  };
  return (e) => {
    switch (e.type) {
      case 'metrics':
        last = e.rows[e.rows.length - 1];
        break;
      case 'progress':
        if (e.phase === 'learning') {
          if (!tty && !last) break;
          const sps = e.stepsPerSecond;
          const eta = sps && sps > 0 ? (e.total - e.done) / sps : NaN;
          const s = `step ${e.done}/${e.total}  loss ${fmt(last?.loss)}  mask L1 ${fmt(last?.meanMaskL1, 3)}  max p ${fmt(last?.meanMaxProb, 3)}  ${sps ? sps.toFixed(2) : '?'} steps/s  ETA ${duration(eta)}`;
          // without a TTY, print only when new metrics arrived (every ≤ 10 steps)
          if (tty || (last && last.step + 1 === e.done)) line(s);
        } else {
          const key = `${e.phase} ${e.detail ?? ''}`;
          if (tty)
            line(`${e.phase}${e.detail ? ` ${e.detail}` : ''} ${e.done}/${e.total}${e.etaSeconds !== undefined ? `  ETA ${duration(e.etaSeconds)}` : ''}`);
          else if (key !== lastPhase) line(`${e.phase}${e.detail ? ` ${e.detail}` : ''}…`);
          lastPhase = key;
        }
        break;
      case 'evaluation':
        newline();
        out.write(
          `eval @ step ${e.evaluation.step}: ${describeMetrics(e.evaluation.metrics)}${e.evaluation.flips !== null ? `, ${e.evaluation.flips} groups flipped` : ''}\n`,
        );
        break;
      case 'model':
        newline();
        out.write(
          `model ${e.summary.name}: ${e.summary.parameters.toLocaleString('en')} parameters, ${e.summary.maskedWeights.toLocaleString('en')} masked weights in ${e.summary.sites.length} layers\n`,
        );
        if (e.summary.memoryPlan) for (const t of e.summary.memoryPlan.totals) out.write(`  ${t}\n`);
        break;
      case 'error':
        newline();
        out.write(`error: ${e.message}\n`);
        break;
      case 'done':
        newline();
        break;
      default:
        break;
    }
  };
}
