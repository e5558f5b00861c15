// The "Real GPU" section of docs/PERFORMANCE.md (tools/bench/device-report.ts): without a real
// adapter it says plainly that nothing was measured and shows no figure; with one it shows the
// measurements and judges issue 21's targets from them; splicing replaces only that section.
import { describe, expect, it } from 'vitest';
import { renderDevice, type DeviceResults } from '../../tools/bench/device-report';
import { spliceSection } from '../../tools/bench/sections';

const swiftshader: DeviceResults = {
  date: '2026-01-01T00:00:00.000Z',
  measured: false,
  quick: false,
  cpuAdapter: true,
  adapter: { vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device', description: 'SwiftShader driver 5.0.0' },
  features: { timestampQuery: true, shaderF16: false, subgroups: true },
  node: 'v20',
  f32PeakTflops: null,
  f32PeakBasis: null,
  method: {},
  matmul: [],
  attention: [],
  sparse24: [],
  step: null,
  complete: false,
  elapsedS: 0,
};

const variant = (v: 'matmul_16x8' | 'matmul_tiled_64x64', gflops: number) => ({
  variant: v,
  gpuMs: 1,
  gpuRunsMs: [1],
  wallMs: 1,
  gflops,
  peakShare: gflops / 67_000,
});
const h100: DeviceResults = {
  ...swiftshader,
  measured: true,
  cpuAdapter: false,
  complete: true,
  elapsedS: 300,
  adapter: { vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3', description: 'NVIDIA' },
  f32PeakTflops: 67,
  f32PeakBasis: 'H100 SXM',
  matmul: [
    {
      label: '1024³',
      shape: '1024×1024·1024×1024',
      m: 1024,
      k: 1024,
      n: 1024,
      transA: false,
      transB: false,
      flops: 2 * 1024 ** 3,
      pick: 'matmul_16x8',
      variants: [variant('matmul_16x8', 5000), variant('matmul_tiled_64x64', 25_000)],
    },
  ],
  attention: [
    {
      label: 'gpt2',
      batch: 8,
      heads: 12,
      T: 128,
      D: 64,
      causal: true,
      pass: 'forward+backward',
      rowsMs: 9,
      matmulMs: 4,
      fusedMs: 2,
      ratio: 4.5,
      maxAbsDiff: 1e-6,
      timing: 'gpu',
    },
  ],
  sparse24: [{ shape: '1×768·768×3072', denseMs: 0.02, compressedMs: 0.01, denseWeightBytes: 1, compressedWeightBytes: 1, maxRelErr: 1e-6 }],
  step: {
    config: { kind: 'gpt2', vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12, layerNormEps: 1e-5, tieWordEmbeddings: true },
    parameters: 124_439_808,
    batch: 8,
    context: 128,
    nm: '2:4',
    hyper: '',
    setupS: 1,
    learnStepMs: [1200],
    learnStepMedianMs: 1200,
    denseForwardMs: [100],
    denseForwardMedianMs: 100,
    method: '',
  },
};

describe('Real GPU section', () => {
  it('without a real adapter: "not measured", the adapter found, and no figure', () => {
    for (const x of [null, swiftshader, { ...swiftshader, measured: true, matmul: h100.matmul }]) {
      const text = renderDevice(x).join('\n');
      expect(text.startsWith('## Real GPU')).toBe(true);
      expect(text).toContain('Not measured: no real GPU was available');
      expect(text).not.toMatch(/GFLOP\/s per variant|ms per pass|% of the f32 peak \(/);
      if (x) expect(text).toContain('SwiftShader driver 5.0.0, a CPU adapter');
    }
  });

  it("with a real adapter: the tables and issue 21's targets judged from them", () => {
    const text = renderDevice(h100).join('\n');
    expect(text).not.toContain('Not measured');
    expect(text).toContain('| 1024×1024·1024×1024 | 1024³ | 5000 | 25000 | matmul_16x8 | 37.3 % |');
    expect(text).toContain('matmul at 1024³: 37.3 % of the f32 peak (target ≥ 30 %): met');
    expect(text).toContain('4.50× the row kernels (target ≥ 3×): met');
    expect(text).toContain('1200.0 ms (target < 1000 ms): **not met**');
    expect(text).toContain('2.00× dense, geometric mean (target ≥ 1.6×): met');
    expect(text).toContain('tfjs-webgpu on the same adapter: not measured');
  });

  it('is spliced in place of the old section, keeping every other line', () => {
    const doc = ['# Performance', '', '## Real GPU', '', 'old', '', '## Memory', '', '| x |', ''].join('\n');
    const once = spliceSection(doc, renderDevice(h100));
    expect(once).not.toContain('\nold\n');
    expect(spliceSection(once, renderDevice(h100))).toBe(once);
    expect(once.replace(/## Real GPU[\s\S]*?(?=## Memory)/, '')).toBe(doc.replace(/## Real GPU[\s\S]*?(?=## Memory)/, ''));
  });
});
