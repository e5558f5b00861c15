// The pieces of `npm run bench -- --gpt2-small` that need no GPU: the streaming checkpoint writer
// (tools/lib/write-checkpoint.ts, shared with tests/large) read back by the lab's own loader, the
// phase timing cut from a session's events, and the report section rendered from results.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SessionEvent } from '../../src/lab/session';
import type { GptConfig } from '../../src/models/config';
import { openCheckpoint } from '../../src/models/checkpoint';
import { gptInitialWeights } from '../../src/models/gpt';
import { readSafetensors } from '../../src/models/safetensors';
import { phaseTimes, type TimedEvent } from '../../tools/bench/gpt2-small';
import { renderGpt2Small } from '../../tools/bench/report';
import type { Gpt2SmallResults, Gpt2SmallRun } from '../../tools/bench/results';
import { gpt2Init, writeHubGpt2Dir } from '../../tools/lib/write-checkpoint';
import { GPT2_CONFIG_JSON } from '../helpers/hub-configs';
import { testSeed } from '../helpers/random';

const seed = testSeed();
const tmp = mkdtempSync(join(tmpdir(), 'bench-gpt2-small-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe(`the streamed hub GPT-2 checkpoint (seed ${seed})`, () => {
  const c: GptConfig = { kind: 'gpt2', vocabSize: 61, nPositions: 12, nEmbd: 8, nLayer: 2, nHead: 2, layerNormEps: 1e-5, tieWordEmbeddings: true };
  const json = { ...GPT2_CONFIG_JSON, vocab_size: 61, n_positions: 12, n_ctx: 12, n_embd: 8, n_layer: 2, n_head: 2 };

  it("is the hub's layout and loads as GPT-2's initialisation", () => {
    const dir = join(tmp, 'small');
    const w = writeHubGpt2Dir(dir, c, json, gpt2Init(c, seed));
    const bytes = new Uint8Array(readFileSync(w.path));
    expect(statSync(w.path).size).toBe(w.bytes);
    const { tensors } = readSafetensors(bytes);
    // hub names (no transformer.), the state_dict's order, the causal-mask buffers after ln_1
    expect(w.tensors.slice(0, 5).map((t) => t.name)).toEqual(['wte.weight', 'wpe.weight', 'h.0.ln_1.weight', 'h.0.ln_1.bias', 'h.0.attn.bias']);
    expect([...tensors.keys()].some((k) => k.startsWith('transformer.'))).toBe(false);
    expect(tensors.get('h.1.attn.c_attn.weight')!.shape).toEqual([8, 24]);
    expect(tensors.get('h.1.mlp.c_proj.weight')!.shape).toEqual([32, 8]);
    const bias = tensors.get('h.1.attn.bias')!;
    expect(bias.shape).toEqual([1, 1, 12, 12]);
    const tril = new Float32Array(bias.bytes.slice().buffer);
    for (let i = 0; i < 12; i++) for (let j = 0; j < 12; j++) expect(tril[i * 12 + j]).toBe(j <= i ? 1 : 0);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual(json);
    // the lab's loader reads it as the lab's own GPT-2 initialisation (same rule, same seed)
    const { config, weights } = openCheckpoint([{ name: 'model.safetensors', bytes }], JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
    expect(config).toMatchObject({ nLayer: 2, nEmbd: 8, vocabSize: 61, tieWordEmbeddings: true });
    const want = gptInitialWeights(c, seed);
    expect([...weights.names].sort()).toEqual([...want.keys()].sort());
    for (const [name, v] of want) expect(weights.read(name), name).toEqual(v);
  });
});

describe('phase times from session events', () => {
  const t = (s: number) => 1000 * s;
  const ev = (s: number, e: SessionEvent): TimedEvent => ({ t: t(s), e });
  const bl = (s: number, detail: string, done: number): TimedEvent => ev(s, { type: 'progress', phase: 'baselines', done, total: 3, detail });
  const table = (s: number, keys: string[]): TimedEvent =>
    ev(s, { type: 'table', rows: keys.map((key) => ({ key, label: key, metrics: {}, bitsPerWeight: null })) as never });
  const events: TimedEvent[] = [
    ev(1, { type: 'state', state: 'loading' } as SessionEvent),
    ev(4, { type: 'model', summary: {} as never }),
    ev(5, { type: 'progress', phase: 'tokenizing', done: 0, total: 4, detail: 'bpe tokens' }),
    ev(9, { type: 'progress', phase: 'tokenizing', done: 4, total: 4, detail: 'bpe tokens' }),
    ev(12, { type: 'progress', phase: 'compiling', done: 0, total: 40, detail: 'shaders' }),
    ev(20, { type: 'progress', phase: 'compiling', done: 40, total: 40, detail: 'shaders' }),
    table(30, ['dense']),
    bl(30, 'magnitude', 0),
    table(40, ['dense', 'magnitude']),
    bl(40, 'wanda', 0),
    bl(45, 'wanda', 1),
    bl(50, 'wanda', 3),
    table(61, ['dense', 'magnitude', 'wanda']),
    bl(61, 'sparsegpt', 0),
    bl(100, 'sparsegpt', 3),
    table(110, ['dense', 'magnitude', 'wanda', 'sparsegpt']),
    bl(110, 'sparsegpt+update', 0),
    bl(160, 'sparsegpt+update', 3),
    table(170, ['dense', 'magnitude', 'wanda', 'sparsegpt', 'sparsegpt+update']),
  ];

  it('cuts load, tokenizing, compiling, the dense evaluation and each baseline at their events', () => {
    expect(phaseTimes(events, t(0), t(172))).toEqual({
      load: 4,
      tokenizing: 5,
      compiling: 11,
      denseEvaluation: 10,
      baselines: [
        { key: 'magnitude', compute: null, evaluation: 10 },
        { key: 'wanda', compute: 10, evaluation: 11 },
        { key: 'sparsegpt', compute: 39, evaluation: 10 },
        { key: 'sparsegpt+update', compute: 50, evaluation: 10 },
      ],
      learnerSetup: 2,
      kernelsCompiled: 40,
    });
  });

  it('a byte-level model (no tokenizing events) and missing events', () => {
    const noTok = events.filter((x) => !(x.e.type === 'progress' && x.e.phase === 'tokenizing'));
    expect(phaseTimes(noTok, t(0), t(170))).toMatchObject({ load: 4, tokenizing: 0, compiling: 16 });
    expect(() => phaseTimes(events.slice(0, 1), 0, 1)).toThrow(/no model event/);
    expect(() => phaseTimes(events.slice(0, 6), 0, 1)).toThrow(/no table event/);
    expect(() => phaseTimes(events.slice(0, 8), 0, 1)).toThrow(/no table row for the baseline magnitude/);
  });

  it('renders the report section from results', () => {
    const run = (context: number): Gpt2SmallRun => ({
      config: { method: 'maskllm', prior: 'sparsegpt', batch: 1, context, steps: 1, calibBatches: 1, evalWindows: 1, memoryBudget: 16, seed: 1 },
      seconds: { ...phaseTimes(events, t(0), t(172)), learningStep: 33, evaluation: 21, total: 226 },
      kernelsCompiled: 40,
      prior: { method: 'sparsegpt', reusedBaseline: true },
      stepLoss: 10.9,
      table: [{ key: 'dense', label: 'Dense', en: { loss: 10.83, bitsPerByte: 3.9 }, code: { loss: 10.84, bitsPerByte: 4.1 } }],
      gpuMemory: { plannedBytes: 7.4 * 2 ** 30, peakBytes: 6.9 * 2 ** 30 },
      maxRssBytes: 9 * 2 ** 30,
      cpuSeconds: 400,
      machine: {
        before: { loadavg1: 3.5, otherHeavyProcesses: ['95.0 node vitest'] },
        after: { loadavg1: 4, otherHeavyProcesses: [] },
        loadavg1: { samples: 20, mean: 4.2, max: 5 },
      },
      webgpuErrors: [],
    });
    const g: Gpt2SmallResults = {
      date: '2025-01-01T00:00:00.000Z',
      adapter: 'Google / swiftshader / SwiftShader Device (Subzero)',
      node: 'v20.0.0',
      cores: 2,
      dev: false,
      model: {
        layers: 12,
        nEmbd: 768,
        nHead: 12,
        nPositions: 1024,
        vocabSize: 50257,
        parameters: 124_439_808,
        maskedWeights: 84_934_656,
        dtype: 'F32',
        checkpointBytes: 548_000_000,
      },
      writeSeconds: 12,
      readSeconds: 1,
      runs: [run(256), run(1024)],
      failed: [],
    };
    const md = renderGpt2Small(g).join('\n');
    expect(md).toContain('## GPT-2 small (124 M parameters) on this machine');
    expect(md).toContain('| phase | context 256 | context 1024 |');
    expect(md).toContain('| baseline SparseGPT (+ weight update): masks | 50.0 | 50.0 |');
    expect(md).toContain('| baseline Magnitude: masks | with its evaluation | with its evaluation |');
    expect(md).toContain('| baseline Magnitude: evaluation | 10.0 (masks + evaluation) | 10.0 (masks + evaluation) |');
    expect(md).toContain('| **one MaskLLM learning step** (batch 1, metrics read back) | **33.0** | **33.0** |');
    expect(md).toContain('| GPU memory, the memory plan | 7.40 GiB | 7.40 GiB |');
    expect(md).toContain('SwiftShader, a CPU implementation of WebGPU');
    expect(md).toContain('`95.0 node vitest`');
    expect(md).not.toContain('development run');
    expect(renderGpt2Small({ ...g, dev: true, model: { ...g.model, layers: 2 } }).join('\n')).toContain('A development run on 2 layers');
    const refused = renderGpt2Small({
      ...g,
      runs: [run(512)],
      failed: [{ context: 1024, error: 'The attention probabilities … exceed maxBufferSize\nmore', seconds: 2.5 }],
    }).join('\n');
    expect(refused).toContain('**Context 1024: no measurement — the run threw after 2.5 s:** The attention probabilities … exceed maxBufferSize');
    expect(refused).toContain('| phase | context 512 |');
    expect(renderGpt2Small({ ...g, runs: [], failed: [] }).join('\n')).toContain('No run finished.');
  });
});
