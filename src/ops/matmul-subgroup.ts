// The subgroup matmul variant (shaders/matmul_subgroup.wgsl): its sizes, its WGSL module and its
// launch. A module of its own because it starts with `enable subgroups;`, which fails to compile on a
// device without the `subgroups` feature: the other variants share MATMUL_WGSL, which must compile
// everywhere. The op (src/ops/matmul.ts) runs it only where the engine's device has the feature.
import matmulWgsl from '../../shaders/matmul.wgsl?raw';
import matmulSubgroupWgsl from '../../shaders/matmul_subgroup.wgsl?raw';
import type { DeviceInfo } from '../gpu/device';
import { ceilDiv } from './grid';

/**
 * A workgroup of `wg` invocations (one dimension; a multiple of every subgroup size WebGPU allows,
 * 4..128, so no subgroup is partial) owns `rows` output rows × wg·cols columns; each invocation
 * `cols` columns, wg apart, of all the rows. The WGSL takes its sizes from here (SG_* constants).
 */
export const SUBGROUP_MATMUL = { wg: 128, rows: 16, cols: 4 } as const;

/** The variants that need the `subgroups` feature. */
export const SUBGROUP_VARIANTS = ['matmul_subgroup'] as const;
export type SubgroupVariant = (typeof SUBGROUP_VARIANTS)[number];

export const isSubgroupVariant = (v: string): v is SubgroupVariant => (SUBGROUP_VARIANTS as readonly string[]).includes(v);

/** The device features a variant may need (DeviceInfo['features'], or a part of it). */
export type MatmulFeatures = Partial<Pick<DeviceInfo['features'], 'subgroups'>>;

/** Whether a device with `features` can compile and run variant `v` (no features given: none). */
export function variantSupported(v: string, features: MatmulFeatures = {}): boolean {
  return !isSubgroupVariant(v) || !!features.subgroups;
}

/** The module: the directive, shaders/matmul.wgsl's declarations and helpers, the sizes, the entry point. */
export const MATMUL_SUBGROUP_WGSL = [
  'enable subgroups;',
  matmulWgsl,
  [`override SG_WG: u32 = ${SUBGROUP_MATMUL.wg}u;`, `const SG_ROWS: u32 = ${SUBGROUP_MATMUL.rows}u;`, `const SG_COLS: u32 = ${SUBGROUP_MATMUL.cols}u;`].join(
    '\n',
  ),
  matmulSubgroupWgsl,
].join('\n\n');

/**
 * Workgroup shape and grid for an M×N output, `batch` deep. The WGSL's @workgroup_size is SG_WG
 * (the row sharing needs exactly that); WG_X/WG_Y only match it. `wg`: a test's SG_WG override (a
 * workgroup of 6 on 4-lane subgroups launches a partial one).
 */
export function subgroupLaunch(
  g: { m: number; n: number; batch: number },
  wg: number = SUBGROUP_MATMUL.wg,
): { wg: [number, number]; grid: [number, number, number] } {
  const { rows, cols } = SUBGROUP_MATMUL;
  return { wg: [wg, 1], grid: [ceilDiv(g.n, wg * cols), ceilDiv(g.m, rows), g.batch] };
}
