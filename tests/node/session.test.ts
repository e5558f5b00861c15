import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { memoryStore } from '../../src/lab/persist';
import { fixedEngine, LabRunner, type RunnerEvent } from '../../src/lab/runner';
import { importMaskPacked, importMaskSafetensors, decodeState } from '../../src/sparsity/maskfile';
import { microAssets } from '../helpers/micro-assets';

const base: ExperimentConfig = { ...DEFAULT_CONFIG, model: 'micro-gpt', batch: 2, steps: 4, evalEvery: 2, calibBatches: 2, evalWindows: 4, samplesPerStep: 1 };

// The session's work (baselines, steps, evaluations, export) driven by the runner, as every caller drives it.
function session(e = new CpuEngine(), opts: { store?: boolean; readEvery?: number } = {}) {
  const events: RunnerEvent[] = [];
  const r = new LabRunner({ engine: fixedEngine(e), assets: microAssets(), store: opts.store ? memoryStore() : null, readEvery: opts.readEvery });
  r.watch((ev) => events.push(ev));
  // `s` is the runner's session once loaded
  return {
    r,
    events,
    e,
    get s() {
      return r.session!;
    },
  };
}

describe('LabRunner over a LabSession (CPU engine, micro models)', () => {
  it('GPT: baselines, 4 learning steps, evaluations, final table, mask export', async () => {
    const x = session();
    const { r, events } = x;
    await r.load(base);
    const s = x.s;
    expect(r.state).toBe('ready');
    // learning comes first: the dense and one-shot rows are computed between steps (or before the final row)
    const baselineKeys = ['dense', 'magnitude', 'wanda', 'sparsegpt', 'sparsegpt+update'];
    expect(s.table).toEqual([]);
    expect(s.baselinesPending).toBe(5);
    const firstTable = events.find((e) => e.type === 'table');
    expect(firstTable && firstTable.type === 'table' && firstTable.pending).toEqual(baselineKeys);
    await r.runToEnd();
    expect(r.state).toBe('done');
    expect(s.table.map((r) => r.key)).toEqual([...baselineKeys, 'maskllm']);
    for (const r of s.table) expect(Number.isFinite(r.metrics.en!.ppl) && Number.isFinite(r.metrics.code!.ppl)).toBe(true);
    // every table event lists its rows in order, and the pending ones are exactly those not yet there
    for (const e of events) {
      if (e.type !== 'table') continue;
      const keys = e.rows.map((x) => x.key);
      expect(keys).toEqual(baselineKeys.concat('maskllm').filter((k) => keys.includes(k as never)));
      expect([...keys.filter((k) => k !== 'maskllm'), ...(e.pending ?? [])].sort()).toEqual([...baselineKeys].sort());
    }
    // the same rows as a session that computes them before learning (one-shot method: all at load)
    const y = session();
    await y.r.load({ ...base, method: 'magnitude' });
    expect(y.s.table.map((r) => r.key)).toEqual(baselineKeys);
    expect(y.s.table).toEqual(s.table.slice(0, 5));
    expect(s.metrics.map((m) => m.step)).toEqual([0, 1, 2, 3]);
    expect(s.evaluations.map((e) => e.step)).toEqual([2, 4]);
    expect(s.evaluations[0].flips).toBeNull();
    expect(s.evaluations[1].flips).toBeGreaterThanOrEqual(0);
    expect(s.table.at(-1)!.key).toBe('maskllm');
    expect(events.some((e) => e.type === 'done')).toBe(true);
    const sites = s.model!.maskSites.map((x) => ({ name: x.name, shape: x.shape, layout: x.layout }));
    const st = importMaskSafetensors(await s.exportMask('safetensors'), { n: 2, m: 4, weights: sites });
    const pk = importMaskPacked(await s.exportMask('packed'), { n: 2, m: 4, weights: sites });
    expect(pk.map((x) => Array.from(x.mask))).toEqual(st.map((x) => Array.from(x.mask)));
    const state = decodeState(await s.exportMask('state'));
    expect(state.step).toBe(4);
    expect(state.sites).toHaveLength(sites.length);
  });

  it("a GPT with GPT-2's vocabulary: BPE text (tokenizing progress), bits per byte, learns, exports", async () => {
    const x = session();
    const { r, events } = x;
    await r.load({ ...base, model: 'micro-gpt2', steps: 2, evalEvery: 2, evalWindows: 2, calibBatches: 1 });
    const s = x.s;
    expect(s.summary!.tokenizer).toBe('gpt2');
    const phases = events.flatMap((e) => (e.type === 'progress' ? [e.phase] : []));
    expect(phases).toContain('tokenizing');
    await r.runToEnd();
    expect(r.state).toBe('done');
    for (const row of s.table) {
      const en = row.metrics.en!;
      // each BPE token of the micro text covers at least one byte: fewer bits per byte than per token
      expect(en.bytes!).toBeGreaterThanOrEqual(en.tokens);
      expect(en.bitsPerByte!).toBeCloseTo((en.loss * en.tokens) / en.bytes! / Math.LN2, 10);
    }
    const sites = s.model!.maskSites.map((x) => ({ name: x.name, shape: x.shape, layout: x.layout }));
    expect(importMaskSafetensors(await s.exportMask('safetensors'), { n: 2, m: 4, weights: sites })).toHaveLength(sites.length);
  });

  it('the context setting sets the window length; beyond n_positions it is refused by name', async () => {
    const x = session();
    await x.r.load({ ...base, context: 8, method: 'magnitude' });
    const en = x.s.table[0].metrics.en!;
    expect(en.tokens).toBe(4 * 8); // evalWindows 4 windows of 8 targets
    const y = session();
    await expect(y.r.load({ ...base, context: 17 })).rejects.toThrow("context 17 exceeds the model's 16 positions (n_positions)");
    expect(y.r.state).toBe('error');
  });

  it('pause, step once and resume reach the same logits as an uninterrupted run', async () => {
    const a = session();
    await a.r.load(base);
    await a.r.runToEnd();
    const b = session();
    await b.r.load(base);
    await b.r.step();
    expect(b.r.state).toBe('paused');
    expect(b.s.step).toBe(1);
    await b.r.runToEnd();
    expect(b.s.step).toBe(4);
    const la = await a.s.learner!.state();
    const lb = await b.s.learner!.state();
    la.forEach((x, i) => expect(Array.from(lb[i].logits)).toEqual(Array.from(x.logits)));
  });

  it('a one-shot method finishes right after the baselines', async () => {
    const x = session();
    const { r } = x;
    await r.load({ ...base, method: 'wanda' });
    expect(r.state).toBe('done');
    const s = x.s;
    const m = await s.masks();
    expect(m).toHaveLength(s.model!.maskSites.length);
  });

  it('ViT: learns and reports accuracy', async () => {
    const x = session();
    const { r } = x;
    await r.load({ ...base, model: 'micro-vit', batch: 4, steps: 2, evalEvery: 1, prior: 'magnitude' });
    await r.runToEnd();
    const s = x.s;
    const row = s.table.at(-1)!;
    expect(row.metrics.test!.accuracy).toBeGreaterThanOrEqual(0);
    expect(row.metrics.test!.images).toBe(30);
  });

  it('a NaN in the logits pauses the run and names the layer and step', async () => {
    const x = session();
    const { r, events, e } = x;
    await r.load(base);
    const s = x.s;
    const site = s.learner!.sites[1];
    const poisoned = new Float32Array(site.logits.size).fill(0);
    poisoned[3] = Number.NaN;
    e.write(site.logits, poisoned);
    await r.runToEnd();
    expect(r.state).toBe('paused');
    const err = events.find((x) => x.type === 'error');
    expect(err && err.type === 'error' && err.message).toMatch(new RegExp(`step 0 in the logits of ${site.site.name.replace(/\./g, '\\.')}`));
  });

  it('reset returns to step 0 and reruns identically', async () => {
    const x = session();
    const { r } = x;
    await r.load(base);
    await r.runToEnd();
    const s = x.s;
    const first = (await s.learner!.state())[0].logits.slice();
    await r.reset();
    expect(s.step).toBe(0);
    expect(r.state).toBe('ready');
    await r.runToEnd();
    expect(Array.from((await s.learner!.state())[0].logits)).toEqual(Array.from(first));
  });

  it('bad inputs fail with a specific message', async () => {
    const { r, events } = session();
    await expect(r.load({ ...base, model: 'nope' })).rejects.toThrow(/no asset checkpoints\/nope/);
    expect(r.state).toBe('error');
    expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
    await expect(r.run()).rejects.toThrow(/loading failed: .*no asset checkpoints\/nope/);
    expect(() => new LabRunner({ engine: fixedEngine(new CpuEngine()), assets: microAssets(), readEvery: 0 })).toThrow(
      /readEvery must be a whole number ≥ 1 \(got 0\)/,
    );
  });

  it('reads metrics back every readEvery steps and at every save; saves every saveEvery steps', async () => {
    const { r, events } = session(new CpuEngine(), { store: true, readEvery: 3 });
    await r.load({ ...base, steps: 7, evalEvery: 7 });
    await r.runToEnd();
    expect(r.state).toBe('done');
    const reads = events.filter((e) => e.type === 'metrics').map((e) => (e.type === 'metrics' ? e.rows.map((x) => x.step) : []));
    // after steps 3 (readEvery), 5 (a save), 6 (readEvery), 7 (the last, an evaluation)
    expect(reads).toEqual([[0, 1, 2], [3, 4], [5], [6]]);
    expect(events.filter((e) => e.type === 'saved').map((e) => (e.type === 'saved' ? e.step : -1))).toEqual([5]);
    // a finished run is not kept
    expect(await r.savedRun()).toEqual({ none: true });
  });

  it('pause saves the run; resumeSaved continues it with every metrics row kept once', async () => {
    const a = session(new CpuEngine(), { store: true });
    await a.r.load({ ...base, steps: 6 });
    await a.r.step();
    await a.r.step();
    expect(a.r.state).toBe('paused');
    expect(await a.r.savedRun()).toMatchObject({ saved: { step: 2, totalSteps: 6, metricsRows: 2 } });
    await a.r.resumeSaved();
    expect(a.r.state).toBe('paused');
    expect(a.s.step).toBe(2);
    await a.r.runToEnd();
    expect(a.r.state).toBe('done');
    expect(a.s.metrics.map((m) => m.step)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
