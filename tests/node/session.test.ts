import { describe, expect, it } from 'vitest';
import { CpuEngine } from '../../src/backend/cpu';
import { DEFAULT_CONFIG, type ExperimentConfig } from '../../src/lab/config';
import { LabSession, type SessionEvent } from '../../src/lab/session';
import { importMaskPacked, importMaskSafetensors, decodeState } from '../../src/sparsity/maskfile';
import { microAssets } from '../helpers/micro-assets';

const base: ExperimentConfig = { ...DEFAULT_CONFIG, model: 'micro-gpt', batch: 2, steps: 4, evalEvery: 2, calibBatches: 2, evalWindows: 4, samplesPerStep: 1 };

function session(e = new CpuEngine()) {
  const events: SessionEvent[] = [];
  const s = new LabSession(e, microAssets(), (ev) => events.push(ev));
  return { s, events, e };
}

describe('LabSession (CPU engine, micro models)', () => {
  it('GPT: baselines, 4 learning steps, evaluations, final table, mask export', async () => {
    const { s, events } = session();
    await s.load(base);
    expect(s.state).toBe('ready');
    expect(s.table.map((r) => r.key)).toEqual(['dense', 'magnitude', 'wanda', 'sparsegpt', 'sparsegpt+update']);
    for (const r of s.table) expect(Number.isFinite(r.metrics.en!.ppl) && Number.isFinite(r.metrics.code!.ppl)).toBe(true);
    await s.run();
    expect(s.state).toBe('done');
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

  it('pause, step once and resume reach the same logits as an uninterrupted run', async () => {
    const a = session();
    await a.s.load(base);
    await a.s.run();
    const b = session();
    await b.s.load(base);
    await b.s.stepOnce();
    expect(b.s.state).toBe('paused');
    expect(b.s.step).toBe(1);
    await b.s.run();
    expect(b.s.step).toBe(4);
    const la = await a.s.learner!.state();
    const lb = await b.s.learner!.state();
    la.forEach((x, i) => expect(Array.from(lb[i].logits)).toEqual(Array.from(x.logits)));
  });

  it('a one-shot method finishes right after the baselines', async () => {
    const { s } = session();
    await s.load({ ...base, method: 'wanda' });
    expect(s.state).toBe('done');
    const m = await s.masks();
    expect(m).toHaveLength(s.model!.maskSites.length);
  });

  it('ViT: learns and reports accuracy', async () => {
    const { s } = session();
    await s.load({ ...base, model: 'micro-vit', batch: 4, steps: 2, evalEvery: 1, prior: 'magnitude' });
    await s.run();
    const row = s.table.at(-1)!;
    expect(row.metrics.test!.accuracy).toBeGreaterThanOrEqual(0);
    expect(row.metrics.test!.images).toBe(30);
  });

  it('a NaN in the logits pauses the run and names the layer and step', async () => {
    const { s, events, e } = session();
    await s.load(base);
    const site = s.learner!.sites[1];
    const poisoned = new Float32Array(site.logits.size).fill(0);
    poisoned[3] = Number.NaN;
    e.write(site.logits, poisoned);
    await s.run();
    expect(s.state).toBe('paused');
    const err = events.find((x) => x.type === 'error');
    expect(err && err.type === 'error' && err.message).toMatch(new RegExp(`step 0 in the logits of ${site.site.name.replace(/\./g, '\\.')}`));
  });

  it('reset returns to step 0 and reruns identically', async () => {
    const { s } = session();
    await s.load(base);
    await s.run();
    const first = (await s.learner!.state())[0].logits.slice();
    await s.reset();
    expect(s.step).toBe(0);
    expect(s.state).toBe('ready');
    await s.run();
    expect(Array.from((await s.learner!.state())[0].logits)).toEqual(Array.from(first));
  });

  it('bad inputs fail with a specific message', async () => {
    const { s } = session();
    await expect(s.load({ ...base, model: 'nope' })).rejects.toThrow(/no asset checkpoints\/nope/);
    expect(s.state).toBe('error');
  });
});
