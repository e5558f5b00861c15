// The one data loader (src/lab/lab-data.ts) over in-memory micro assets: which shards a GPT and a
// ViT get for each training domain, the evaluation window cap, and the refusals.
import { describe, expect, it } from 'vitest';
import type { AssetLoader } from '../../src/lab/assets';
import { evalTextWindows } from '../../src/data/batches';
import { parseShard, type TextShard } from '../../src/data/shards';
import { loadImageShard, loadLabData, loadTextShard, loadTrainText, LabDataError } from '../../src/lab/lab-data';
import { BYTE_GPT, microAssets, SMALL_VIT } from '../helpers/micro-assets';

/** microAssets, remembering which paths were loaded. */
function counted(): { assets: AssetLoader; loaded: string[] } {
  const inner = microAssets();
  const loaded: string[] = [];
  return { loaded, assets: { load: (p, on) => (loaded.push(p), inner.load(p, on)) } };
}

const text = async (a: AssetLoader, p: string) => (parseShard(await a.load(p)) as TextShard).bytes;

describe('loadLabData', () => {
  it('a GPT on mixed text: English then code training bytes, both validation splits, no test set', async () => {
    const { assets, loaded } = counted();
    const d = await loadLabData(assets, BYTE_GPT, { trainDomain: 'mixed', evalWindows: 0 });
    const en = await text(assets, 'data/en.train.bin');
    const code = await text(assets, 'data/code.train.bin');
    expect(d.train).toEqual(Uint8Array.from([...en, ...code]));
    expect([...d.val.keys()]).toEqual(['en', 'code']);
    expect(d.val.get('en')).toEqual(evalTextWindows(await text(assets, 'data/en.val.bin'), BYTE_GPT.nPositions));
    expect(d.test).toBeNull();
    expect(loaded.slice(0, 4)).toEqual(['data/en.train.bin', 'data/code.train.bin', 'data/en.val.bin', 'data/code.val.bin']);
  });

  it('one training domain loads only its text; evalWindows caps the validation windows', async () => {
    const { assets, loaded } = counted();
    const d = await loadLabData(assets, BYTE_GPT, { trainDomain: 'code', evalWindows: 2 });
    expect(d.train).toEqual(await text(assets, 'data/code.train.bin'));
    expect(loaded).not.toContain('data/en.train.bin');
    const windows = (d.val.get('en') as { batch: number }[]).reduce((a, b) => a + b.batch, 0);
    expect(windows).toBe(2);
  });

  it('a ViT: the train shard, batches of the validation and test splits', async () => {
    const { assets } = counted();
    const d = await loadLabData(assets, SMALL_VIT, { trainDomain: 'mixed', evalWindows: 4 });
    expect(d.train).toMatchObject({ kind: 'images', height: 28, width: 28 });
    expect([...d.val.keys()]).toEqual(['val']);
    expect(d.test!.length).toBeGreaterThan(0);
  });

  it('refuses a GPT whose vocabulary is not bytes, and images of another size', async () => {
    const { assets } = counted();
    await expect(loadLabData(assets, { ...BYTE_GPT, vocabSize: 50257 }, { trainDomain: 'en', evalWindows: 0 })).rejects.toThrow(
      new LabDataError("this GPT has a 50257-token vocabulary; the lab's text data is byte-level (256). Use a byte-level model."),
    );
    await expect(loadLabData(assets, { ...SMALL_VIT, imageSize: 32 }, { trainDomain: 'en', evalWindows: 0 })).rejects.toThrow(
      /^the ViT expects 1×32×32 images, the data has 1×28×28$/,
    );
  });

  it('a shard of the wrong kind is named', async () => {
    const { assets } = counted();
    const swapped: AssetLoader = { load: (p) => assets.load(p === 'data/en.val.bin' ? 'data/fmnist.val.bin' : p) };
    await expect(loadTextShard(swapped, 'en', 'val')).rejects.toThrow(/^data\/en\.val\.bin is not a text shard$/);
    const swapped2: AssetLoader = { load: (p) => assets.load(p === 'data/fmnist.test.bin' ? 'data/en.val.bin' : p) };
    await expect(loadImageShard(swapped2, 'test')).rejects.toThrow(/^data\/fmnist\.test\.bin is not an image shard$/);
    expect(await loadTrainText(assets, 'en')).toEqual(await text(assets, 'data/en.train.bin'));
  });
});
