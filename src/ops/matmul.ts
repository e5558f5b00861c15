// Matmul family: out = op(A) · op(B) (+ bias), batched or with leading dims folded into rows.
// GPU: shaders/matmul.wgsl (+ shaders/matmul_tiled.wgsl; shaders/matmul_subgroup.wgsl, a module of its
// own: src/ops/matmul-subgroup.ts); the CPU twin (f64 accumulation) is matmulCpu below.
import matmulWgsl from '../../shaders/matmul.wgsl?raw';
import matmulTiledWgsl from '../../shaders/matmul_tiled.wgsl?raw';
import type { Engine, HostEngine } from '../backend/engine';
import type { GpuEngine } from '../backend/gpu';
import { sharesStorage, type RawTensor } from '../backend/tensor';
import { matmulWasm } from '../wasm/matmul';
import type { ShapeClass } from '../gpu/autotune';
import type { Kernel } from '../gpu/kernel';
import { params } from '../gpu/params';
import { ceilDiv } from './grid';
import { BLOCKED_SHAPES, blockedMatmulWgsl, type BlockedVariant } from './matmul-blocked';
import { isSubgroupVariant, MATMUL_SUBGROUP_WGSL, subgroupLaunch, variantSupported, type MatmulFeatures, type SubgroupVariant } from './matmul-subgroup';

// the subgroup variant's sizes and the device check, for the engine's callers (tuner, benchmarks, tests)
export { SUBGROUP_MATMUL, variantSupported, type MatmulFeatures } from './matmul-subgroup';

/**
 * The workgroup-memory tiled variant (shaders/matmul_tiled.wgsl), for real GPUs: a workgroup of
 * wg×wg invocations owns a tile×tile block of the output (a 4×4 register block per invocation) and
 * stages tileK columns of A and rows of B ⊙ mask per step in two padded k-major tiles. The WGSL takes
 * its sizes from here (MT_* constants), so the storage below is what the shader declares.
 */
export const TILED_MATMUL = (() => {
  const wg = 16,
    tile = 4 * wg,
    tileK = 16,
    stride = tile + 2; // ≡ 2 (mod 32): the transposing tile writes hit 32 distinct banks (see the WGSL)
  return { wg, tile, tileK, stride, invocations: wg * wg, storageBytes: 2 * tileK * stride * 4 } as const;
})();

const tiledWgsl = [
  `const MT_WG: u32 = ${TILED_MATMUL.wg}u;`,
  `const MT_TILE: u32 = ${TILED_MATMUL.tile}u;`,
  `const MT_TK: u32 = ${TILED_MATMUL.tileK}u;`,
  `const MT_STRIDE: u32 = ${TILED_MATMUL.stride}u;`,
  matmulTiledWgsl,
].join('\n');

/**
 * shaders/matmul.wgsl plus the generated blocked and the tiled entry points: one module for every
 * variant that runs on any device (the subgroup variant has its own: MATMUL_SUBGROUP_WGSL).
 */
export const MATMUL_WGSL = [matmulWgsl, ...(Object.keys(BLOCKED_SHAPES) as BlockedVariant[]).map(blockedMatmulWgsl), tiledWgsl].join('\n\n');

export interface MatmulOpts {
  /** a is stored [K,M] (logical A = aᵀ). */
  transA?: boolean;
  /** b is stored [N,K] (logical B = bᵀ). */
  transB?: boolean;
  /** [N], added to every output row. */
  bias?: RawTensor;
  /**
   * Soft mask with b's shape (and storage layout): the product uses b ⊙ bMask, multiplied as b is
   * loaded (the fused masked-weight load; no W ⊙ m tensor is materialised).
   */
  bMask?: RawTensor;
  /** Force a kernel (tests, benchmarks); throws when the shape does not allow it. Default: by shape. */
  variant?: MatmulVariant;
  /**
   * Write into this f32 tensor (exactly the output's element count, not sharing storage with an
   * operand) instead of a new one: lets a loop reuse one buffer, which the pool could otherwise
   * hand out again only after a submit (src/ops/lm-head.ts).
   */
  out?: RawTensor;
}

/**
 * The WGSL entry points (see shaders/matmul.wgsl). `matmul_tiled_64x64` (shaders/matmul_tiled.wgsl)
 * is for real GPUs: any shape and layout, but never chosen by shape — on SwiftShader, without fast
 * workgroup memory, it is slower than the register-blocked kernels; it runs when forced (tests,
 * benchmarks, an autotuner). `matmul_subgroup` (shaders/matmul_subgroup.wgsl, src/ops/matmul-subgroup.ts)
 * likewise, and only on a device with the `subgroups` feature (variantSupported): A shared across a
 * subgroup with shuffles, any shape and layout.
 */
export type MatmulVariant = 'matmul_4x4' | 'matmul_4x4_v4' | 'matmul_4x4_dot' | 'matvec_v4' | BlockedVariant | 'matmul_tiled_64x64' | SubgroupVariant;
export const MATMUL_VARIANTS: readonly MatmulVariant[] = [
  'matmul_4x4',
  'matmul_4x4_v4',
  'matmul_4x4_dot',
  'matvec_v4',
  'matmul_8x8',
  'matmul_16x8',
  'matmul_tiled_64x64',
  'matmul_subgroup',
];

/**
 * The resolved problem: for z < batch, out[z] = op(A)[z] · op(B)[z], with op(A) [m,k], op(B) [k,n].
 * `batchedA/B` say whether the operand has one matrix per z (else one matrix shared by all z).
 */
export interface MatmulGeometry {
  batch: number;
  m: number;
  k: number;
  n: number;
  batchedA: boolean;
  batchedB: boolean;
  outShape: number[];
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;
const prod = (s: readonly number[]) => s.reduce((x, y) => x * y, 1);

/**
 * Shapes → geometry, with a specific error for every unsupported combination:
 * - a [M,K] · b [K,N] → [M,N]  (rank 2 both);
 * - a [...L, T, K] · b [K,N] → [...L, T, N]: leading dims of a fold into M (not with transA);
 * - a [...L, M, K] · b [...L, K, N] → [...L, M, N]: batched, identical leading dims.
 */
export function matmulGeometry(aShape: readonly number[], bShape: readonly number[], opts: MatmulOpts = {}): MatmulGeometry {
  const { transA = false, transB = false } = opts;
  const ra = aShape.length,
    rb = bShape.length;
  if (ra < 2) throw new Error(`matmul: a must have rank ≥ 2, got shape ${fmt(aShape)}`);
  if (rb < 2) throw new Error(`matmul: b must have rank ≥ 2, got shape ${fmt(bShape)}`);
  const [am, ak] = transA ? [aShape[ra - 1], aShape[ra - 2]] : [aShape[ra - 2], aShape[ra - 1]];
  const [bk, bn] = transB ? [bShape[rb - 1], bShape[rb - 2]] : [bShape[rb - 2], bShape[rb - 1]];
  const what = `a ${fmt(aShape)}${transA ? 'ᵀ' : ''} · b ${fmt(bShape)}${transB ? 'ᵀ' : ''}`;
  if (ak !== bk) throw new Error(`matmul: inner dimensions differ (K = ${ak} from a, ${bk} from b) in ${what}`);
  const lead = aShape.slice(0, ra - 2);
  let geo: MatmulGeometry;
  if (rb === 2) {
    if (ra > 2 && transA) {
      throw new Error(`matmul: transA needs a rank-2 a or a batched b with the same leading dims, got ${what}`);
    }
    // fold: a [...L, T, K] is read as [L·T, K] (row-major contiguous, so no copy)
    geo = { batch: 1, m: prod(lead) * am, k: ak, n: bn, batchedA: false, batchedB: false, outShape: [...lead, am, bn] };
  } else {
    const bl = bShape.slice(0, rb - 2);
    if (ra !== rb || lead.some((d, i) => d !== bl[i])) {
      throw new Error(`matmul: batched operands need identical leading dims (b of rank > 2 needs a of the same rank), got ${what}`);
    }
    geo = { batch: prod(lead), m: am, k: ak, n: bn, batchedA: true, batchedB: true, outShape: [...lead, am, bn] };
  }
  if (opts.bias && (opts.bias.shape.length !== 1 || opts.bias.shape[0] !== geo.n)) {
    throw new Error(`matmul: bias must have shape [${geo.n}] (N), got ${fmt(opts.bias.shape)}`);
  }
  if (opts.bMask && fmt(opts.bMask.shape) !== fmt(bShape)) {
    throw new Error(`matmul: bMask must have b's shape ${fmt(bShape)}, got ${fmt(opts.bMask.shape)}`);
  }
  return geo;
}

/** out = op(a) · op(b) (+ bias); see matmulGeometry for the accepted shapes. */
export function matmul(e: Engine, a: RawTensor, b: RawTensor, opts: MatmulOpts = {}): RawTensor {
  return matmulWith(e, a, b, matmulGeometry(a.shape, b.shape, opts), opts);
}

/**
 * Both operands read as matrices: every leading dim folds into rows ([...L, C] → [L, C]). Used for
 * weight gradients, e.g. dW = Xᵀ·G with X [B,T,in] and G [B,T,out] → [in,out] (transA: true).
 */
export function matmulFlat(e: Engine, a: RawTensor, b: RawTensor, opts: MatmulOpts = {}): RawTensor {
  const flat = (s: readonly number[]) => (s.length < 2 ? [...s] : [prod(s.slice(0, -1)), s[s.length - 1]]);
  return matmulWith(e, a, b, matmulGeometry(flat(a.shape), flat(b.shape), opts), opts);
}

/** Run an already-resolved geometry (sizes are checked against the operands). */
export function matmulWith(e: Engine, a: RawTensor, b: RawTensor, g: MatmulGeometry, opts: MatmulOpts = {}): RawTensor {
  for (const [name, t] of [
    ['a', a],
    ['b', b],
    ['bias', opts.bias],
    ['bMask', opts.bMask],
  ] as const) {
    if (t && t.dtype !== 'f32') throw new Error(`matmul: ${name} must be f32, got ${t.dtype}`);
  }
  const wantA = (g.batchedA ? g.batch : 1) * g.m * g.k;
  const wantB = (g.batchedB ? g.batch : 1) * g.k * g.n;
  if (a.size !== wantA) throw new Error(`matmul: a has ${a.size} elements, the geometry needs ${wantA}`);
  if (b.size !== wantB) throw new Error(`matmul: b has ${b.size} elements, the geometry needs ${wantB}`);
  if (opts.bias && opts.bias.size !== g.n) throw new Error(`matmul: bias has ${opts.bias.size} elements, N = ${g.n}`);
  if (opts.bMask && opts.bMask.size !== b.size) throw new Error(`matmul: bMask has ${opts.bMask.size} elements, b has ${b.size}`);
  if (opts.out) checkOut(opts.out, g, [a, b, opts.bias, opts.bMask]);
  return e.kind === 'gpu' ? matmulGpu(e, a, b, g, opts) : e.kind === 'wasm' ? matmulWasm(e, a, b, g, opts) : matmulCpu(e, a, b, g, opts);
}

function checkOut(out: RawTensor, g: MatmulGeometry, operands: (RawTensor | undefined)[]): void {
  const want = g.batch * g.m * g.n;
  if (out.dtype !== 'f32' || out.size !== want) throw new Error(`matmul: out must be f32 with ${want} elements, got ${out.size} ${out.dtype}`);
  // WebGPU rejects one buffer bound read-only and writable in one dispatch; the CPU twin would read overwritten rows
  if (operands.some((t) => t && sharesStorage(t, out))) throw new Error('matmul: out must not share storage with an operand');
}

/** The CPU twin: f64 accumulation (i-k-j order over one f64 row), stored in the engine's f32/f64. */
export function matmulCpu(e: HostEngine, a: RawTensor, b: RawTensor, g: MatmulGeometry, opts: MatmulOpts = {}): RawTensor {
  const { batch, m, k, n } = g;
  const { transA = false, transB = false, bias, bMask } = opts;
  const out = opts.out ?? e.empty(g.outShape);
  const A = a.f32,
    O = out.f32,
    bs = bias?.f32;
  // the masked weight in the engine's precision (f64 on an f64 engine), as the fused GPU load computes it
  const B = bMask ? b.f32.map((v, i) => v * bMask.f32[i]) : b.f32;
  // element strides of the logical [m,k] and [k,n] views
  const [aRow, aK] = transA ? [1, m] : [k, 1];
  const [bK, bCol] = transB ? [1, k] : [n, 1];
  const row = new Float64Array(n);
  for (let z = 0; z < batch; z++) {
    const ao = g.batchedA ? z * m * k : 0,
      bo = g.batchedB ? z * k * n : 0,
      oo = z * m * n;
    for (let i = 0; i < m; i++) {
      if (bs) for (let j = 0; j < n; j++) row[j] = bs[j];
      else row.fill(0);
      for (let p = 0; p < k; p++) {
        const av = A[ao + i * aRow + p * aK];
        const bp = bo + p * bK;
        for (let j = 0; j < n; j++) row[j] += av * B[bp + j * bCol];
      }
      O.set(row, oo + i * n);
    }
  }
  return out;
}

/**
 * Which kernel the engine runs for a geometry (measured on SwiftShader, see docs/PERFORMANCE.md):
 * - M ≤ 3 with row-major B and N % 4 == 0: matvec_v4 (a bigger row block would waste its FMAs);
 * - M ≥ 16: matmul_16x8, M ≥ 8: matmul_8x8 (one scalar kernel for every layout: the FMAs per
 *   gathered load, not vec4 loads, decide the speed on SwiftShader; ~2× the 4×4 kernels);
 * - smaller M: matmul_4x4_dot for a transposed B with K % 4 == 0, matmul_4x4_v4 for a row-major B
 *   with N % 4 == 0, else the scalar 4×4 kernel.
 */
export function chooseMatmulVariant(g: MatmulGeometry, opts: Pick<MatmulOpts, 'transA' | 'transB'> = {}): MatmulVariant {
  if (g.m >= 16) return 'matmul_16x8';
  if (g.m >= 8) return 'matmul_8x8';
  if (variantFits('matmul_4x4_dot', g, opts)) return 'matmul_4x4_dot';
  if (!variantFits('matmul_4x4_v4', g, opts)) return 'matmul_4x4';
  if (g.m <= 3) return 'matvec_v4';
  return 'matmul_4x4_v4';
}

/**
 * Whether a forced variant can run this geometry (vec4 loads need 4-aligned rows). The shape only:
 * whether the device can run it at all is variantSupported (the subgroup variant needs `subgroups`).
 */
export function variantFits(v: MatmulVariant, g: MatmulGeometry, opts: Pick<MatmulOpts, 'transA' | 'transB'> = {}): boolean {
  if (v === 'matmul_4x4' || v === 'matmul_tiled_64x64' || isSubgroupVariant(v) || v in BLOCKED_SHAPES) return true;
  if (v === 'matmul_4x4_dot') return !opts.transA && !!opts.transB && g.k % 4 === 0 && g.k > 0;
  return !opts.transB && g.n % 4 === 0;
}

/** Why a variant does not fit (for the error message). */
function needs(v: MatmulVariant): string {
  return v === 'matmul_4x4_dot' ? 'a row-major a, a transposed b (transB) and K % 4 == 0 (K > 0)' : 'a row-major b (no transB) with N % 4 == 0';
}

/** Workgroup shape and grid of a variant for a geometry. */
function launch(v: MatmulVariant, g: MatmulGeometry): { wg: [number, number]; grid: [number, number, number] } {
  if (v === 'matvec_v4') return { wg: [64, 1], grid: [ceilDiv(g.n, 4 * 64), g.m, g.batch] };
  if (v === 'matmul_tiled_64x64') {
    // the WGSL's @workgroup_size is MT_WG × MT_WG (the tile mapping needs exactly that); WG_X/WG_Y only match it
    const { wg, tile } = TILED_MATMUL;
    return { wg: [wg, wg], grid: [ceilDiv(g.n, tile), ceilDiv(g.m, tile), g.batch] };
  }
  if (isSubgroupVariant(v)) return subgroupLaunch(g);
  const [rows, cols] = v in BLOCKED_SHAPES ? BLOCKED_SHAPES[v as BlockedVariant] : [4, 4];
  return { wg: [8, 8], grid: [ceilDiv(g.n, cols * 8), ceilDiv(g.m, rows * 8), g.batch] };
}

/**
 * A matmul problem as the autotuner sees it (src/gpu/autotune.ts): the exact geometry and layout
 * (a model has a handful), the built-in choice and every variant that can run it on a device with
 * `features` (the engine's `info.features`; without them, no variant that needs a feature).
 */
export interface MatmulShapeClass extends ShapeClass<MatmulVariant> {
  g: MatmulGeometry;
  opts: { transA: boolean; transB: boolean; bias: boolean; mask: boolean };
}

export function matmulShapeClass(
  g: MatmulGeometry,
  opts: Pick<MatmulOpts, 'transA' | 'transB' | 'bias' | 'bMask'> = {},
  features: MatmulFeatures = {},
): MatmulShapeClass {
  const o = { transA: !!opts.transA, transB: !!opts.transB, bias: !!opts.bias, mask: !!opts.bMask };
  return {
    key: matmulClassKey(g, o.transA, o.transB, o.bias, o.mask),
    builtIn: chooseMatmulVariant(g, o),
    candidates: MATMUL_VARIANTS.filter((v) => variantFits(v, g, o) && variantSupported(v, features)),
    g: { ...g, outShape: [...g.outShape] },
    opts: o,
  };
}

function matmulClassKey(g: MatmulGeometry, transA: boolean, transB: boolean, bias: boolean, mask: boolean): string {
  const layout = `${transA ? 't' : 'n'}${transB ? 't' : 'n'}${bias ? 'b' : ''}${mask ? 'm' : ''}`;
  return `matmul:${layout}:z${g.batch}${g.batchedA ? 'a' : ''}${g.batchedB ? 'b' : ''}:m${g.m}:k${g.k}:n${g.n}`;
}

/** The variant the engine runs: forced, else the engine's tuned pick for the class, else the built-in. */
function matmulVariantFor(e: GpuEngine, g: MatmulGeometry, opts: MatmulOpts): MatmulVariant {
  if (opts.variant) return opts.variant;
  if (!e.wantsShapeClasses) return chooseMatmulVariant(g, opts);
  // per dispatch on a tuned engine: only the key and a map lookup (the class object only while collecting)
  if (e.isCollecting) e.noteShapeClass(matmulShapeClass(g, opts, e.info.features));
  const pick = e.picks.get(matmulClassKey(g, !!opts.transA, !!opts.transB, !!opts.bias, !!opts.bMask)) as MatmulVariant | undefined;
  // a pick that no longer fits (a stale cache) or that this device cannot run is ignored
  return pick && MATMUL_VARIANTS.includes(pick) && variantFits(pick, g, opts) && variantSupported(pick, e.info.features) ? pick : chooseMatmulVariant(g, opts);
}

function matmulGpu(e: GpuEngine, a: RawTensor, b: RawTensor, g: MatmulGeometry, opts: MatmulOpts): RawTensor {
  const v = matmulVariantFor(e, g, opts);
  if (!MATMUL_VARIANTS.includes(v)) throw new Error(`matmul: unknown variant '${v}'`);
  if (!variantSupported(v, e.info.features)) {
    throw new Error(`matmul: variant ${v} needs the WebGPU 'subgroups' feature, which this device does not have (use another variant)`);
  }
  if (!variantFits(v, g, opts)) {
    throw new Error(`matmul: variant ${v} needs ${needs(v)}, got M×K×N = ${g.m}×${g.k}×${g.n}, transA = ${!!opts.transA}, transB = ${!!opts.transB}`);
  }
  const out = opts.out ?? e.empty(g.outShape);
  if (g.m * g.n * g.batch === 0) return out;
  const { wg, grid } = launch(v, g);
  if (grid.some((d) => d > 65535)) throw new Error(`matmul: grid ${grid.join('×')} exceeds 65,535 workgroups per dimension`);
  const kernel: Kernel = {
    name: 'matmul',
    code: isSubgroupVariant(v) ? MATMUL_SUBGROUP_WGSL : MATMUL_WGSL,
    entry: v,
    constants: {
      TRANS_A: +!!opts.transA,
      TRANS_B: +!!opts.transB,
      HAS_BIAS: +!!opts.bias,
      HAS_MASK: +!!opts.bMask,
      WG_X: wg[0],
      WG_Y: wg[1],
    },
  };
  const u = params()
    .u32(g.m)
    .u32(g.k)
    .u32(g.n)
    .u32(g.batch)
    .u32(g.batchedA ? g.m * g.k : 0)
    .u32(g.batchedB ? g.k * g.n : 0)
    .u32(0)
    .u32(0)
    .build();
  e.dispatch(kernel, {
    params: u,
    // the bias and mask slots are always part of the layout (see the WGSL); bind b when absent
    bindings: [a, b, opts.bias ?? b, out, opts.bMask ?? b],
    workgroups: grid,
  });
  return out;
}
