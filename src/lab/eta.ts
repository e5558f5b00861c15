// Time left in a long phase before learning (reading files, tokenizing, compiling shaders, the
// one-shot baselines — SparseGPT on GPT-2 small takes minutes): the rate since the phase (with its
// detail) began, so each baseline gets its own estimate. Learning has its own steps/s and ETA.
import type { SessionEvent } from './session';

export function etaStamper(now: () => number = () => performance.now()): (e: SessionEvent) => SessionEvent {
  let key = '';
  let t0 = 0;
  let d0 = 0;
  return (e) => {
    if (e.type !== 'progress' || e.phase === 'learning') return e;
    const k = `${e.phase}\u0000${e.detail ?? ''}`;
    if (k !== key || e.done < d0) {
      key = k;
      t0 = now();
      d0 = e.done;
      return e;
    }
    const seconds = (now() - t0) / 1000;
    const rate = seconds > 0 ? (e.done - d0) / seconds : 0;
    return rate > 0 && e.done < e.total ? { ...e, etaSeconds: (e.total - e.done) / rate } : e;
  };
}
