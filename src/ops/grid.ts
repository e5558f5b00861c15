// Dispatch-size helpers. WebGPU trap: at most 65,535 workgroups per dimension, so 1-D work over
// more than 65,535·64 elements folds into a 2-D grid; kernels rebuild the flat index as
// gid.x + gid.y · num_workgroups.x · WG.
export function grid1d(n: number, wg = 64): [number, number] {
  const groups = Math.max(1, Math.ceil(n / wg));
  if (groups <= 65535) return [groups, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}

export const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
