// Quick matmul throughput check on the Node webgpu engine (SwiftShader on CI-like machines).
// VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json node --import tsx --import ./tools/raw-loader.mjs tools/bench-matmul-quick.ts
// Prints GFLOP/s (2·M·K·N / time) for M×K×N, median of 5 timed runs after one warm-up, each timed to
// `await sync()`. SwiftShader shares the CPU cores: on a loaded machine the numbers drop several-fold.
import { matmul } from '../src/ops/matmul';
import { nodeGpuEngine } from './node-gpu';

const shapes: [number, number, number][] = [
  [512, 512, 512],
  [2048, 64, 192],
  [2048, 256, 64],
  [1, 768, 3072],
];

const e = await nodeGpuEngine();
const rand = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
for (const [m, k, n] of shapes) {
  const a = e.upload(rand(m * k), [m, k]);
  const b = e.upload(rand(k * n), [k, n]);
  const once = async () => {
    const t0 = performance.now();
    const out = matmul(e, a, b);
    await e.sync();
    const ms = performance.now() - t0;
    out.dispose();
    return ms;
  };
  await once(); // warm-up: pipeline compile and first-touch of buffers
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(await once());
  times.sort((x, y) => x - y);
  const med = times[2];
  const gflops = (2 * m * k * n) / (med * 1e6);
  console.log(`${m}×${k}×${n}`.padEnd(16), `${med.toFixed(2).padStart(9)} ms`, `${gflops.toFixed(2).padStart(8)} GFLOP/s`);
  a.dispose();
  b.dispose();
}
const errs = e.takeErrors();
if (errs.length) console.error('WebGPU errors:', errs);
e.destroy();
