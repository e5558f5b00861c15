// Issue #4's last check, on the real bundled checkpoints: the MaskLLM mask that `npm run experiments`
// exported (results/main/<model>-seed<N>/mask.safetensors, committed), applied by an independent
// program (tests/python/eval_checkpoint.py: numpy float64, Hugging Face semantics, its own shard and
// mask readers) to the committed checkpoint, gives the metric the lab reported in summary.json.
// If a checkpoint is retrained without rerunning the experiments, this fails: rerun them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const RUNS = join(ROOT, 'results', 'main');

function independentEval(checkpoint: string, mask: string, data: string, maxWindows?: number): Record<string, number> {
  const args = [join(ROOT, 'tests/python/eval_checkpoint.py'), '--checkpoint', checkpoint, '--mask', mask, '--data', data];
  if (maxWindows) args.push('--max-windows', String(maxWindows));
  const p = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (p.error) throw new Error(`cannot run ${PYTHON}: ${p.error.message} (needs python3 with numpy: Debian python3-numpy)`);
  if (p.status !== 0) throw new Error(`eval_checkpoint.py failed (exit ${p.status}): ${p.stderr}`);
  return JSON.parse(p.stdout);
}

interface Row {
  key: string;
  metrics: { en?: { ppl: number; tokens: number }; code?: { ppl: number; tokens: number }; test?: { accuracy: number; images: number } };
}

describe('the lab-exported MaskLLM masks, applied independently to the bundled checkpoints', () => {
  const dirs = existsSync(RUNS) ? readdirSync(RUNS).filter((d) => /^tiny-(gpt|vit)-seed\d+$/.test(d) && existsSync(join(RUNS, d, 'summary.json'))) : [];
  it('the committed main-table runs of tiny-gpt and tiny-vit exist', () => {
    expect(
      dirs.some((d) => d.startsWith('tiny-gpt')),
      `no finished results/main/tiny-gpt-seed*: run npm run experiments`,
    ).toBe(true);
    expect(
      dirs.some((d) => d.startsWith('tiny-vit')),
      `no finished results/main/tiny-vit-seed*: run npm run experiments`,
    ).toBe(true);
  });
  for (const d of dirs) {
    it(`${d}: independent metric = the lab's`, () => {
      const dir = join(RUNS, d);
      const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { rows: Row[] };
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { model: string; evalWindows: number };
      const row = summary.rows.find((r) => r.key === 'maskllm');
      if (!row) throw new Error(`${d}/summary.json has no maskllm row`);
      const ckpt = join(ROOT, 'public/checkpoints', config.model);
      const mask = join(dir, 'mask.safetensors');
      if (config.model === 'tiny-gpt') {
        for (const dom of ['en', 'code'] as const) {
          const lab = row.metrics[dom]!;
          const py = independentEval(ckpt, mask, join(ROOT, `public/data/${dom}.val.bin`), config.evalWindows || undefined);
          expect(py.tokens, `${dom} tokens scored`).toBe(lab.tokens);
          // the lab runs in f32 on the GPU, the reference in f64
          expect(Math.abs(py.ppl / lab.ppl - 1), `${dom} PPL: independent ${py.ppl}, lab ${lab.ppl}`).toBeLessThan(1e-4);
        }
      } else {
        const lab = row.metrics.test!;
        const py = independentEval(ckpt, mask, join(ROOT, 'public/data/fmnist.test.bin'));
        expect(py.images).toBe(lab.images);
        // f32 vs f64 may flip an image whose top two logits tie to ~1e-6
        expect(Math.abs(py.accuracy - lab.accuracy), `accuracy: independent ${py.accuracy}, lab ${lab.accuracy}`).toBeLessThanOrEqual(2 / lab.images);
      }
    }, 900_000);
  }
});
