// AssemblyScript (not TypeScript): the WebAssembly matmul, built by tools/build-wasm.mjs twice — with
// SIMD128, and with relaxed SIMD (ASC_FEATURE_RELAXED_SIMD: f32x4.relaxed_madd, a fused multiply-add
// where the CPU has one). The CPU twin is matmulCpu in src/ops/matmul.ts; the caller is src/wasm/matmul.ts.
//
// out[i, j] = bias[j] + Σ_p opA[i, p] · (opB ⊙ mask)[p, j] for the rows [rowStart, rowEnd) of one
// matrix, f32 accumulation in the order p = 0, 1, … (the twin's order, in f32 instead of f64).
//
// Layout (GotoBLAS-style): K is cut into blocks of KC. For each K block, op(B) ⊙ mask is packed into
// panels of NR = 8 columns (kc × 8 floats each, contiguous, the last panel zero-padded); then, block
// of MC rows by block (so the block's A stays in cache while every panel passes), each MR = 4-row
// strip × panel runs the 4×8 micro-kernel: per p, two B vectors, four A values splatted straight from
// op(A) (no A packing: either layout is two strides), eight multiply-adds into eight v128
// accumulators. A single leftover row runs a 1×8 kernel; a strip of 2 or 3 rows points its missing
// rows at its first (computed, never stored). With few rows, a row-major unmasked B is read in place
// (packing would cost as much as the product); only its partial last panel is packed. Padding only
// ever feeds lanes that are never stored, so an Inf in A or B cannot leak a NaN into a stored output.
//
// Memory is the engine's (imported, owned by JS); every pointer is a byte offset into it. `scratch`
// must hold scratchBytes(k, n) bytes, 16-byte aligned. Trap: the module must own no static data (no
// `memory.data`, strings, arrays or allocations): its data segment would be written at instantiation
// into memory the engine hands out as tensors. tools/build-wasm.mjs refuses a module with a data
// section; everything a call needs beyond the tensors lives in its scratch.

const MR: i32 = 4;
const NR: i32 = 8;
const KC: i32 = 256;
const MC: i32 = 128;
/** Below this many rows a row-major, unmasked B is read in place instead of packed. */
const DIRECT_ROWS: i32 = 16;

/** Bytes of scratch one matmul call needs: the packed B block, the padded bias, one 4×8 block. */
export function scratchBytes(k: i32, n: i32): i32 {
  const kc = min(k, KC);
  const n8 = ((n + NR - 1) / NR) * NR;
  return (kc * n8 + n8 + NR * MR) * 4;
}

function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * Panels [jp0, jp1) of opB ⊙ mask, rows [p0, p0+kc): dst[(panel·kc + p)·8 + c] = opB[p0+p, panel·8 + c]
 * (0 past n).
 */
function packB(b: usize, mask: usize, dst: usize, k: i32, n: i32, transB: bool, p0: i32, kc: i32, jp0: i32, jp1: i32): void {
  for (let jp = jp0; jp < jp1; jp++) {
    const j0 = jp * NR;
    const w = min(NR, n - j0);
    const d = dst + ((<usize>(jp * kc)) << 5);
    for (let p = 0; p < kc; p++) {
      const row = d + ((<usize>p) << 5);
      if (!transB && w == NR) {
        // row-major B: eight contiguous values
        const src = (<usize>(p0 + p) * n + j0) << 2;
        let v0 = v128.load(b + src);
        let v1 = v128.load(b + src, 16);
        if (mask) {
          v0 = f32x4.mul(v0, v128.load(mask + src));
          v1 = f32x4.mul(v1, v128.load(mask + src, 16));
        }
        v128.store(row, v0);
        v128.store(row, v1, 16);
        continue;
      }
      for (let c = 0; c < NR; c++) {
        let v: f32 = 0;
        if (c < w) {
          // transB: b is stored [n, k]
          const src = transB ? (<usize>(j0 + c) * k + p0 + p) << 2 : (<usize>(p0 + p) * n + j0 + c) << 2;
          v = load<f32>(b + src);
          if (mask) v *= load<f32>(mask + src);
        }
        store<f32>(row + ((<usize>c) << 2), v);
      }
    }
  }
}

/** blk (4 rows of 8 floats) ← out rows [i, i+h), columns [j, j+w); the rest zero. */
function loadBlock(blk: usize, out: usize, n: i32, i: i32, j: i32, h: i32, w: i32): void {
  memory.fill(blk, 0, (<usize>(MR * NR)) << 2);
  for (let r = 0; r < h; r++) memory.copy(blk + ((<usize>r) << 5), out + ((<usize>(i + r) * n + j) << 2), (<usize>w) << 2);
}

/** out rows [i, i+h), columns [j, j+w) ← blk. */
function storeBlock(blk: usize, out: usize, n: i32, i: i32, j: i32, h: i32, w: i32): void {
  for (let r = 0; r < h; r++) {
    const o = out + ((<usize>(i + r) * n + j) << 2);
    if (w == NR) {
      v128.store(o, v128.load(blk + ((<usize>r) << 5)));
      v128.store(o, v128.load(blk + ((<usize>r) << 5), 16), 16);
    } else {
      memory.copy(o, blk + ((<usize>r) << 5), (<usize>w) << 2);
    }
  }
}

/**
 * Rows [i, i+h) (h ≤ 4) × columns [j, j+w) over one K block of kc: acc = (first ? init : out) +
 * Σ_p A[r, p]·B[p, :]. a0…a3: the rows' first A element (a missing row repeats a0), advanced by aPs
 * bytes per p; bp: the panel's first row, advanced by bPs bytes per p; init: 8 floats (the padded
 * bias or zeros); blk: 32 floats of scratch through which the block enters (when not first) and
 * leaves (the eight accumulators of the loop stay in v128 locals).
 */
function kernel4(
  a0: usize,
  a1: usize,
  a2: usize,
  a3: usize,
  aPs: usize,
  bp: usize,
  bPs: usize,
  kc: i32,
  out: usize,
  n: i32,
  i: i32,
  j: i32,
  h: i32,
  w: i32,
  first: bool,
  init: usize,
  blk: usize,
): void {
  if (first) {
    for (let r = 0; r < MR; r++) memory.copy(blk + ((<usize>r) << 5), init, 32);
  } else {
    loadBlock(blk, out, n, i, j, h, w);
  }
  let c00 = v128.load(blk),
    c01 = v128.load(blk, 16),
    c10 = v128.load(blk, 32),
    c11 = v128.load(blk, 48),
    c20 = v128.load(blk, 64),
    c21 = v128.load(blk, 80),
    c30 = v128.load(blk, 96),
    c31 = v128.load(blk, 112);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp),
      b1 = v128.load(bp, 16);
    const x0 = v128.load32_splat(a0),
      x1 = v128.load32_splat(a1),
      x2 = v128.load32_splat(a2),
      x3 = v128.load32_splat(a3);
    c00 = madd(x0, b0, c00);
    c01 = madd(x0, b1, c01);
    c10 = madd(x1, b0, c10);
    c11 = madd(x1, b1, c11);
    c20 = madd(x2, b0, c20);
    c21 = madd(x2, b1, c21);
    c30 = madd(x3, b0, c30);
    c31 = madd(x3, b1, c31);
    a0 += aPs;
    a1 += aPs;
    a2 += aPs;
    a3 += aPs;
    bp += bPs;
  }
  v128.store(blk, c00);
  v128.store(blk, c01, 16);
  v128.store(blk, c10, 32);
  v128.store(blk, c11, 48);
  v128.store(blk, c20, 64);
  v128.store(blk, c21, 80);
  v128.store(blk, c30, 96);
  v128.store(blk, c31, 112);
  storeBlock(blk, out, n, i, j, h, w);
}

/** kernel4 for one row (two accumulators): a matvec does not pay for four. */
function kernel1(
  a0: usize,
  aPs: usize,
  bp: usize,
  bPs: usize,
  kc: i32,
  out: usize,
  n: i32,
  i: i32,
  j: i32,
  w: i32,
  first: bool,
  init: usize,
  blk: usize,
): void {
  if (first) memory.copy(blk, init, 32);
  else loadBlock(blk, out, n, i, j, 1, w);
  let c0 = v128.load(blk),
    c1 = v128.load(blk, 16);
  for (let p = 0; p < kc; p++) {
    const x = v128.load32_splat(a0);
    c0 = madd(x, v128.load(bp), c0);
    c1 = madd(x, v128.load(bp, 16), c1);
    a0 += aPs;
    bp += bPs;
  }
  v128.store(blk, c0);
  v128.store(blk, c1, 16);
  storeBlock(blk, out, n, i, j, 1, w);
}

/**
 * out rows [rowStart, rowEnd) of op(A) [m,k] · (op(B) ⊙ mask) [k,n] (+ bias). a: [m,k] or, transA,
 * [k,m]; b and mask: [k,n] or, transB, [n,k]; bias: [n]; out: [m,n]. A zero pointer means "none" for
 * bias and mask (offset 0 is never a tensor: the engine's arena starts above it).
 */
export function matmul(
  a: usize,
  b: usize,
  bias: usize,
  mask: usize,
  out: usize,
  scratch: usize,
  m: i32,
  k: i32,
  n: i32,
  transA: bool,
  transB: bool,
  rowStart: i32,
  rowEnd: i32,
): void {
  const n8 = ((n + NR - 1) / NR) * NR;
  const kcMax = min(k, KC);
  const bPack = scratch;
  const init = bPack + ((<usize>(kcMax * n8)) << 2);
  const blk = init + ((<usize>n8) << 2);
  for (let j = 0; j < n8; j++) store<f32>(init + ((<usize>j) << 2), bias && j < n ? load<f32>(bias + ((<usize>j) << 2)) : 0);
  if (k == 0) {
    // no products: out = bias (or 0)
    for (let i = rowStart; i < rowEnd; i++) memory.copy(out + ((<usize>i * n) << 2), init, (<usize>n) << 2);
    return;
  }
  const panels = n8 / NR,
    full = n / NR;
  const direct = !transB && !mask && rowEnd - rowStart < DIRECT_ROWS;
  // op(A)[i, p] is at a + i·aRs + p·aPs (bytes)
  const aRs: usize = transA ? 4 : (<usize>k) << 2;
  const aPs: usize = transA ? (<usize>m) << 2 : 4;
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = min(KC, k - p0);
    packB(b, mask, bPack, k, n, transB, p0, kc, direct ? full : 0, panels);
    for (let i0 = rowStart; i0 < rowEnd; i0 += MC) {
      const i1 = min(i0 + MC, rowEnd);
      for (let jp = 0; jp < panels; jp++) {
        const j = jp * NR;
        const w = min(NR, n - j);
        const inPlace = direct && w == NR;
        const bp = inPlace ? b + ((<usize>p0 * n + j) << 2) : bPack + ((<usize>(jp * kc)) << 5);
        const bPs: usize = inPlace ? (<usize>n) << 2 : 32;
        const ini = init + ((<usize>j) << 2);
        for (let i = i0; i < i1; i += MR) {
          const h = min(MR, i1 - i);
          const ap = a + <usize>i * aRs + <usize>p0 * aPs;
          if (h == 1) kernel1(ap, aPs, bp, bPs, kc, out, n, i, j, w, p0 == 0, ini, blk);
          else kernel4(ap, ap + aRs, h > 2 ? ap + 2 * aRs : ap, h > 3 ? ap + 3 * aRs : ap, aPs, bp, bPs, kc, out, n, i, j, h, w, p0 == 0, ini, blk);
        }
      }
    }
  }
}
