// What the `kernels` setting did for a loaded run, as the Engine panel and the CLI show it. No
// runtime imports: the page's main thread reads it without the engine's modules.

export interface KernelTuning {
  /** measured now, read from the cache, the built-in picks by setting, or not tuned on a CPU adapter */
  status: 'measured' | 'cached' | 'built-in' | 'cpu-adapter';
  /** per matmul or attention shape class: the pick, the built-in choice and the median ms per variant (Infinity or null: failed) */
  picks: { key: string; variant: string; builtIn: string; ms: Record<string, number | null> }[];
}

const STATUS_TEXT: Record<KernelTuning['status'], string> = {
  measured: 'tuned on this adapter now',
  cached: 'tuned on this adapter earlier (cached)',
  'built-in': 'the built-in picks (the kernels setting)',
  'cpu-adapter': 'the built-in picks (a CPU adapter is not tuned)',
};

/** One line: how the picks were made and how many shape classes run another kernel than the built-in one. */
export function describeKernelTuning(k: KernelTuning): string {
  const changed = k.picks.filter((p) => p.variant !== p.builtIn);
  const what = STATUS_TEXT[k.status];
  if (k.status === 'built-in' || k.status === 'cpu-adapter') return what;
  return `${what}: ${changed.length} of ${k.picks.length} shape classes (matmul, attention) run another kernel than the built-in one${
    changed.length ? ` (${changed.map((p) => `${p.key} → ${p.variant}`).join(', ')})` : ''
  }`;
}
