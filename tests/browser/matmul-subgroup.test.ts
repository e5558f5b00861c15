// matmul_subgroup (shaders/matmul_subgroup.wgsl: A shared across a subgroup with shuffles) against
// the CPU twin on fresh seeded inputs: every layout × bias × mask, batched / shared / folded
// geometry, shapes that divide neither its 16-row × 512-column workgroup block nor the subgroup (K
// around multiples of the device's own subgroup size, measured here), a poisoned output, nothing
// written outside the output, NaN only where it belongs — and the feature gate: the module needs
// `subgroups`, so it is separate from MATMUL_WGSL, refused on a device without the feature, and a
// tuning candidate only with it.
import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import type { Engine } from '../../src/backend/engine';
import type { GpuEngine } from '../../src/backend/gpu';
import type { RawTensor } from '../../src/backend/tensor';
import type { ShapeClass } from '../../src/gpu/autotune';
import {
  chooseMatmulVariant,
  matmul,
  matmulGeometry,
  matmulShapeClass,
  matmulWith,
  MATMUL_WGSL,
  SUBGROUP_MATMUL,
  type MatmulGeometry,
  type MatmulVariant,
} from '../../src/ops/matmul';
import type { Kernel } from '../../src/gpu/kernel';
import { params } from '../../src/gpu/params';
import { MATMUL_SUBGROUP_WGSL, subgroupLaunch } from '../../src/ops/matmul-subgroup';
import { expectClose } from '../helpers/close';
import { getEngine, poisoned } from '../helpers/gpu';
import { randn, randu, testSeed } from '../helpers/random';

const variant: MatmulVariant = 'matmul_subgroup';
const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
const layouts = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const;
const aOf = (m: number, k: number, transA: boolean, lead: number[] = []) => [...lead, ...(transA ? [k, m] : [m, k])];
const bOf = (k: number, n: number, transB: boolean, lead: number[] = []) => [...lead, ...(transB ? [n, k] : [k, n])];

/**
 * What each invocation of one `wg`-invocation compute workgroup sees: its subgroup_size and how many
 * lanes its subgroup's ballot counts (fewer than the size: a partial subgroup).
 */
async function subgroupProbe(e: GpuEngine, wg: number): Promise<{ size: number; active: number }[]> {
  const d = e.device;
  const code = `enable subgroups;
@group(0) @binding(0) var<storage, read_write> o: array<vec2u>;
@compute @workgroup_size(${wg}) fn main(@builtin(local_invocation_index) i: u32, @builtin(subgroup_size) s: u32) {
  let b = subgroupBallot(true);
  o[i] = vec2u(s, dot(countOneBits(b), vec4u(1u)));
}`;
  const pipeline = d.createComputePipeline({ layout: 'auto', compute: { module: d.createShaderModule({ code }), entryPoint: 'main' } });
  const bytes = 8 * wg;
  const buf = d.createBuffer({ size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const staging = d.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, d.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }));
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(buf, 0, staging, 0, bytes);
  d.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const w = new Uint32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  buf.destroy();
  staging.destroy();
  return Array.from({ length: wg }, (_, i) => ({ size: w[2 * i], active: w[2 * i + 1] }));
}

/** The whole pool buffer behind a tensor, bytes beyond its elements included. */
async function readWholeBuffer(e: GpuEngine, t: RawTensor): Promise<Uint32Array> {
  await e.sync();
  const d = e.device;
  const staging = d.createBuffer({ size: t.buffer.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = d.createCommandEncoder();
  enc.copyBufferToBuffer(t.buffer, 0, staging, 0, t.buffer.size);
  d.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const words = new Uint32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return words;
}

describe('matmul_subgroup vs CPU twin', async () => {
  const g = await getEngine();
  const sub = !!g?.info.features.subgroups;
  const c = new CpuEngine();
  const seed = testSeed();
  // SwiftShader's 4 until measured (the shapes below also cover 8, 16, 32, 64)
  let sg = 4;

  async function check(
    aShape: number[],
    bShape: number[],
    o: { transA?: boolean; transB?: boolean; bias?: boolean; mask?: boolean; out?: boolean },
    what: string,
    /** run this geometry through matmulWith (e.g. a B shared by every z) instead of matmul's own */
    geo?: MatmulGeometry,
  ) {
    const a = randn(size(aShape), seed),
      b = randn(size(bShape), seed + 1);
    const n = o.transB ? bShape[bShape.length - 2] : bShape[bShape.length - 1];
    const bias = o.bias ? randn(n, seed + 2) : null;
    const mask = o.mask ? randu(size(bShape), seed + 3, 0, 1) : null;
    const run = (e: Engine, out?: RawTensor) => {
      const opts = {
        transA: o.transA,
        transB: o.transB,
        variant: e.kind === 'gpu' ? variant : undefined,
        bias: bias ? e.upload(bias, [n]) : undefined,
        bMask: mask ? e.upload(mask, bShape) : undefined,
        out,
      };
      const [ta, tb] = [e.upload(a, aShape), e.upload(b, bShape)];
      return geo ? matmulWith(e, ta, tb, geo, opts) : matmul(e, ta, tb, opts);
    };
    const want = run(c);
    // every allocation starts as NaN (getEngine sets poisonAllocations); `out`: an explicitly NaN-filled tensor
    const out = o.out ? poisoned(g!, [...want.shape]) : undefined;
    const got = run(g!, out);
    if (out) expect(got).toBe(out);
    expect(got.shape, what).toEqual(want.shape);
    expectClose(await g!.read(got), want.f32, 1e-5, `${what} ${JSON.stringify(o)} sg=${sg} seed=${seed}`);
  }

  it.runIf(g && sub)('runs on full subgroups of a power-of-two size that divides the workgroup', async () => {
    const probe = await subgroupProbe(g!, SUBGROUP_MATMUL.wg);
    const sizes = [...new Set(probe.map((p) => p.size))];
    for (const s of sizes) {
      expect(s & (s - 1), `subgroup size ${s}`).toBe(0);
      expect(SUBGROUP_MATMUL.wg % s, `subgroup size ${s}`).toBe(0);
    }
    // full on this device (the kernel does not rely on it: see the partial-subgroup test)
    expect(probe.filter((p) => p.active !== p.size)).toEqual([]);
    sg = Math.max(...sizes);
    console.info(`matmul_subgroup: subgroup size ${sizes.join(', ')}`);
  });

  // (M, K, N): M around the 16-row block, K around multiples of the subgroup size (K < one chunk,
  // one exact chunk, one lane more, a ragged last chunk), N around the 512-column block; 1s everywhere.
  const shapes = (): [number, number, number][] => [
    [1, 1, 1],
    [3, 5, 2],
    [17, sg - 1 || 1, 7],
    [16, sg, 129],
    [15, sg + 1, 31],
    [33, 2 * sg + 1, 513],
    [7, 3 * sg + 3, 515],
    [2, 37, 600],
    [50, 33, 5],
  ];

  it.runIf(g && sub)('every layout × bias × mask on shapes that divide neither the block nor the subgroup', async () => {
    for (const [m, k, n] of shapes())
      for (const [transA, transB] of layouts)
        for (const bias of [false, true])
          for (const mask of [false, true]) {
            await check(aOf(m, k, transA), bOf(k, n, transB), { transA, transB, bias, mask }, `${m}×${k}×${n}`);
          }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g && sub)('K of 64 and 65, and 33 (more than one chunk on every subgroup size up to 64)', async () => {
    for (const [m, k, n] of [
      [19, 64, 40],
      [20, 65, 41],
      [3, 33, 130],
    ] as const)
      for (const [transA, transB] of layouts) await check(aOf(m, k, transA), bOf(k, n, transB), { transA, transB, bias: true, mask: true }, `${m}×${k}×${n}`);
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g && sub)('batched, shared B, shared A and folded rows in every layout; a poisoned out', async () => {
    const [z, m, k, n] = [3, 17, 2 * sg + 3, 65];
    for (const [transA, transB] of layouts) {
      const o = { transA, transB, bias: true, mask: true };
      const what = `transA=${transA} transB=${transB}`;
      await check(aOf(m, k, transA, [z]), bOf(k, n, transB, [z]), o, `batched ${what}`);
      const geo = (batchedA: boolean, batchedB: boolean): MatmulGeometry => ({ batch: z, m, k, n, batchedA, batchedB, outShape: [z, m, n] });
      await check(aOf(m, k, transA, [z]), bOf(k, n, transB), o, `shared B ${what}`, geo(true, false));
      await check(aOf(m, k, transA), bOf(k, n, transB, [z]), o, `shared A ${what}`, geo(false, true));
      if (!transA) await check([2, 9, k], bOf(k, n, transB), o, `folded rows ${what}`);
      await check(aOf(m, k, transA, [z]), bOf(k, n, transB, [z]), { ...o, out: true }, `batched into out ${what}`);
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g && sub)('writes every output element and nothing past the output in its buffer', async () => {
    const SENTINEL = 0x7f80dead; // a NaN no kernel computes
    for (const [z, m, k, n] of [
      [1, 1, 3, 1],
      [2, 17, sg + 1, 129],
      [1, 33, 5, 515],
    ]) {
      const out = g!.empty([z, m, n]);
      const words = out.buffer.size / 4;
      g!.device.queue.writeBuffer(out.buffer, 0, new Uint32Array(words).fill(SENTINEL));
      const a = g!.upload(randn(z * m * k, seed), [z, m, k]);
      const b = g!.upload(randn(z * k * n, seed + 1), [z, k, n]);
      matmul(g!, a, b, { variant, out, bias: g!.upload(randn(n, seed + 2), [n]) });
      const all = await readWholeBuffer(g!, out);
      const inside = all.subarray(0, out.size);
      const what = `${z}×${m}×${k}×${n} seed=${seed}`;
      expect(
        inside.findIndex((w) => w === SENTINEL),
        `${what}: first element not written`,
      ).toBe(-1);
      // the pool rounds buffers up: the tail must still hold the sentinel
      expect(
        [...all.subarray(out.size)].every((w) => w === SENTINEL),
        `${what}: a write past the output`,
      ).toBe(true);
      for (const t of [a, b, out]) t.dispose();
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g && sub)('a NaN in A spoils its row only, a NaN in B its column only', async () => {
    // K not a multiple of the subgroup: the NaN may sit in the ragged last chunk; rows and columns in the edge blocks
    const [m, k, n] = [37, 3 * sg + 1, 530];
    const [r, p, col] = [seed % m, (seed >>> 8) % k, (seed >>> 16) % n];
    for (const [transA, transB] of layouts) {
      const a = randn(m * k, seed),
        b = randn(k * n, seed + 1),
        mask = randu(k * n, seed + 3, 0, 1);
      a[transA ? p * m + r : r * k + p] = Number.NaN;
      b[transB ? col * k + p : p * n + col] = Number.NaN;
      const run = (e: Engine) =>
        matmul(e, e.upload(a, aOf(m, k, transA)), e.upload(b, bOf(k, n, transB)), {
          transA,
          transB,
          bMask: e.upload(mask, bOf(k, n, transB)),
          bias: e.upload(randn(n, seed + 2), [n]),
          variant: e.kind === 'gpu' ? variant : undefined,
        });
      const want = run(c).f32;
      const got = await g!.read(run(g!));
      const what = `transA=${transA} transB=${transB} NaN at A[${r}, ${p}], B[${p}, ${col}] sg=${sg} seed=${seed}`;
      const spoilt = (i: number) => Math.floor(i / n) === r || i % n === col;
      const all = [...Array(m * n).keys()];
      expect(
        all.filter((i) => Number.isNaN(got[i])),
        what,
      ).toEqual(all.filter(spoilt));
      const rest = (x: ArrayLike<number>) =>
        Float64Array.from(
          all.filter((i) => !spoilt(i)),
          (i) => x[i],
        );
      expectClose(rest(got), rest(want), 1e-5, what);
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g && sub)('partial subgroups (a workgroup of 6 or 2 invocations, SG_WG overridden): the same products', async () => {
    const e = g!;
    // every subgroup size is a power of two ≥ 4: 6 invocations make at least one partial subgroup
    const probe = await subgroupProbe(e, 6);
    expect(probe.some((p) => p.active < p.size)).toBe(true);
    for (const wg of [6, 2]) {
      for (const [m, k, n] of [
        [17, 2 * sg + 3, 13],
        [5, 1, 30],
      ])
        for (const [transA, transB] of layouts) {
          const what = `SG_WG=${wg} ${m}×${k}×${n} transA=${transA} transB=${transB} sg=${sg} seed=${seed}`;
          const [z, bias, mask] = [2, true, true];
          const aShape = aOf(m, k, transA, [z]),
            bShape = bOf(k, n, transB, [z]);
          const data = { a: randn(size(aShape), seed), b: randn(size(bShape), seed + 1), bias: randn(n, seed + 2), mask: randu(size(bShape), seed + 3, 0, 1) };
          const up = (x: Engine) => ({
            a: x.upload(data.a, aShape),
            b: x.upload(data.b, bShape),
            bias: bias ? x.upload(data.bias, [n]) : undefined,
            bMask: mask ? x.upload(data.mask, bShape) : undefined,
          });
          const h = up(c);
          const want = matmul(c, h.a, h.b, { transA, transB, bias: h.bias, bMask: h.bMask });
          const t = up(e);
          const geo = matmulGeometry(aShape, bShape, { transA, transB });
          const out = poisoned(e, geo.outShape);
          const kernel: Kernel = {
            name: 'matmul',
            code: MATMUL_SUBGROUP_WGSL,
            entry: variant,
            constants: { TRANS_A: +transA, TRANS_B: +transB, HAS_BIAS: +bias, HAS_MASK: +mask, SG_WG: wg },
          };
          const u = params()
            .u32(geo.m)
            .u32(geo.k)
            .u32(geo.n)
            .u32(geo.batch)
            .u32(geo.m * geo.k)
            .u32(geo.k * geo.n)
            .u32(0)
            .u32(0)
            .build();
          e.dispatch(kernel, { params: u, bindings: [t.a, t.b, t.bias ?? t.b, out, t.bMask ?? t.b], workgroups: subgroupLaunch(geo, wg).grid });
          expectClose(await e.read(out), want.f32, 1e-5, what);
          for (const x of [t.a, t.b, t.bias, t.bMask, out]) x?.dispose();
        }
    }
    expect(e.takeErrors()).toEqual([]);
  });

  it.runIf(g && sub)('a tuning candidate only with the feature, never the choice by shape; an installed pick runs it', async () => {
    const e = g!;
    const [m, k, n] = [21, 2 * sg + 1, 45];
    const a = e.upload(randn(m * k, seed), [m, k]);
    const b = e.upload(randn(k * n, seed + 1), [k, n]);
    const geo = matmulGeometry(a.shape, b.shape);
    expect(matmulShapeClass(geo).candidates).not.toContain(variant);
    expect(matmulShapeClass(geo, {}, { subgroups: false }).candidates).not.toContain(variant);
    const cls = matmulShapeClass(geo, {}, { subgroups: true });
    expect(cls.candidates).toContain(variant);
    expect(cls.builtIn).toBe(chooseMatmulVariant(geo));
    expect(cls.builtIn).not.toBe(variant);
    const product = async () => {
      const out = matmul(e, a, b);
      const v = await e.read(out);
      out.dispose();
      return v;
    };
    const ref = await product();
    try {
      e.picks.set(cls.key, variant);
      const classes = new Map<string, ShapeClass<string>>();
      const kernels = await e.collectKernels(() => void matmul(e, a, b).dispose(), classes);
      expect(kernels.map((x) => x.entry)).toEqual([variant]);
      // the engine names its class with its own features
      expect(classes.get(cls.key)?.candidates).toContain(variant);
      expect(kernels[0].code).toBe(MATMUL_SUBGROUP_WGSL);
      const got = await product();
      got.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-4 * (1 + Math.abs(ref[i]))));
    } finally {
      e.picks.clear();
      a.dispose();
      b.dispose();
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('without the feature: refused with a clear error, a stale pick ignored, not a candidate', async () => {
    const e = g!;
    const had = e.info.features.subgroups;
    const a = e.upload(randn(6 * 5, seed), [6, 5]);
    const b = e.upload(randn(5 * 7, seed + 1), [5, 7]);
    const geo = matmulGeometry(a.shape, b.shape);
    const key = matmulShapeClass(geo).key;
    try {
      e.info.features.subgroups = false;
      expect(() => matmul(e, a, b, { variant })).toThrow(/matmul_subgroup needs the WebGPU 'subgroups' feature, which this device does not have/);
      e.picks.set(key, variant);
      const classes = new Map<string, ShapeClass<string>>();
      const kernels = await e.collectKernels(() => void matmul(e, a, b).dispose(), classes);
      expect(kernels.map((x) => x.entry)).toEqual([chooseMatmulVariant(geo)]);
      expect(classes.get(key)?.candidates).toContain(chooseMatmulVariant(geo));
      expect(classes.get(key)?.candidates).not.toContain(variant);
    } finally {
      e.info.features.subgroups = had;
      e.picks.clear();
      a.dispose();
      b.dispose();
    }
    expect(g!.takeErrors()).toEqual([]);
  });

  it.runIf(g)('its module is separate: MATMUL_WGSL has no directive; the subgroup module fails to compile without the feature', async () => {
    // a directive, not a comment that names it
    expect(MATMUL_WGSL).not.toMatch(/^\s*enable\b/m);
    expect(MATMUL_WGSL).not.toContain('fn matmul_subgroup');
    expect(MATMUL_SUBGROUP_WGSL.startsWith('enable subgroups;')).toBe(true);
    // a device of the same adapter, requested without the feature
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    try {
      expect(device.features.has('subgroups')).toBe(false);
      const errors = async (code: string) =>
        (await device.createShaderModule({ code }).getCompilationInfo()).messages.filter((m) => m.type === 'error').map((m) => m.message);
      expect(await errors(MATMUL_WGSL)).toEqual([]);
      expect((await errors(MATMUL_SUBGROUP_WGSL)).join('\n')).toMatch(/subgroups/);
    } finally {
      device.destroy();
    }
  });
});
