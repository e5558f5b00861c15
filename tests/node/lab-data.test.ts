// The one data loader (src/lab/lab-data.ts) over in-memory micro assets: which shards a GPT and a
// ViT get for each training domain, the evaluation window cap, and the refusals.
import { describe, expect, it } from 'vitest';
import type { AssetLoader } from '../../src/lab/assets';
import { evalTextWindows, type TextBatch } from '../../src/data/batches';
import { gpt2Tokenizer } from '../../src/data/bpe';
import { byteTokenizer } from '../../src/data/byte-tokenizer';
import { TokenizerError } from '../../src/data/tokenizer';
import { parseShard, type TextShard } from '../../src/data/shards';
import { loadImageShard, loadLabData, loadTextShard, loadTrainText } from '../../src/lab/lab-data';
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

  it("a GPT with GPT-2's vocabulary gets BPE tokens, and the bytes its targets cover", async () => {
    const { assets } = counted();
    const gpt2 = { ...BYTE_GPT, vocabSize: 50257 };
    const steps: string[] = [];
    const d = await loadLabData(assets, gpt2, { trainDomain: 'mixed', evalWindows: 0 }, (done, total, detail) => steps.push(`${done}/${total} ${detail}`));
    const dec = (p: string) => text(assets, p).then((b) => new TextDecoder().decode(b));
    const en = gpt2Tokenizer.encode(await dec('data/en.train.bin'));
    const code = gpt2Tokenizer.encode(await dec('data/code.train.bin'));
    expect(d.train).toEqual(Uint32Array.from([...en, ...code]));
    expect(steps).toEqual(['0/4 gpt2 tokens', '1/4 gpt2 tokens', '2/4 gpt2 tokens', '3/4 gpt2 tokens', '4/4 gpt2 tokens']);
    const val = d.val.get('en') as TextBatch[];
    const lengths = gpt2Tokenizer.byteLengths();
    for (const b of val) expect(b.targetBytes).toBe(b.targets.reduce((a, t) => a + lengths[t], 0));
    expect(val).toEqual(evalTextWindows(gpt2Tokenizer.encode(await dec('data/en.val.bin')), gpt2.nPositions, undefined, lengths));
  });

  it('refuses a GPT whose vocabulary has no tokenizer, and images of another size', async () => {
    const { assets } = counted();
    await expect(loadLabData(assets, { ...BYTE_GPT, vocabSize: 50304 }, { trainDomain: 'en', evalWindows: 0 })).rejects.toThrow(
      new TokenizerError(
        'this GPT has a 50304-token vocabulary; the lab has tokenizers for 256 (bytes (UTF-8, 256 tokens)) or 50257 (GPT-2 BPE (r50k, 50,257 tokens)) only, so it cannot read its text',
      ),
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
    expect(await loadTrainText(assets, 'en', byteTokenizer)).toEqual(await text(assets, 'data/en.train.bin'));
  });
});
