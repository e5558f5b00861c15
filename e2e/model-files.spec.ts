// Opening a Hugging Face checkpoint from disk (file picker): one model.safetensors, or the shard
// index and its shards; the size check that refuses huge files before reading them, and a shard the
// index names that was not picked. Runs on the dev server: the size check is called through the page's
// own module (/src/state/session-slice.ts), which only the dev server serves.
import { join } from 'node:path';
import { expect, shardedTinyGptDir, test, tinyGptDir } from './fixtures';

const PICKER = 'Hugging Face GPT-2 or ViT: config.json and its .safetensors weights';
const SHARDS = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];

test('a Hugging Face checkpoint opened from disk loads; files over 2 GiB are refused before reading', async ({ lab, page }, testInfo) => {
  const dir = await tinyGptDir();
  await lab.open();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-resume-checked', 'true', { timeout: 60_000 });
  // the picker takes the checkpoint and its config.json together
  await page.getByLabel(PICKER).setInputFiles([join(dir, 'model.safetensors'), join(dir, 'config.json')]);
  await expect(page.getByRole('radio', { name: /From disk: model \(from disk\) \(model\.safetensors, / })).toBeChecked();
  await page.getByTestId('load-model').click();
  await expect(page.getByTestId('model-summary')).toContainText('model (from disk)', { timeout: 120_000 });
  await expect(page.getByTestId('model-summary')).toContainText('16 Linears');
  await lab.screenshot(testInfo, 'lab-10-model-from-disk');
  // the size check runs on names and sizes only (a real 3 GiB file is not needed to exercise it)
  const msg = await page.evaluate(async () => {
    // the page's own module, served by the Vite dev server (a variable keeps tsc from resolving it)
    const url = '/src/state/session-slice.ts';
    const m = (await import(/* @vite-ignore */ url)) as { checkModelFiles(f: { name: string; size: number }[]): string | null };
    return [
      m.checkModelFiles([
        { name: 'gpt2.safetensors', size: 3 * 1024 ** 3 },
        { name: 'config.json', size: 700 },
      ]),
      m.checkModelFiles([{ name: 'gpt2.safetensors', size: 1000 }]),
      m.checkModelFiles([
        { name: 'gpt2.safetensors', size: 1000 },
        { name: 'config.json', size: 700 },
      ]),
    ];
  });
  expect(msg[0]).toBe('gpt2.safetensors is 3.00 GiB: the lab refuses checkpoints over 2 GiB (a browser tab cannot hold the weights and the learning state).');
  expect(msg[1]).toMatch(/^No config\.json among the files \(got gpt2\.safetensors\)/);
  expect(msg[2]).toBeNull();
});

test('a sharded checkpoint (config.json, the index and 2 shards) picked together loads', async ({ lab, page }) => {
  const dir = await shardedTinyGptDir();
  await lab.open();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-resume-checked', 'true', { timeout: 60_000 });
  await page.getByLabel(PICKER).setInputFiles([join(dir, 'config.json'), join(dir, 'model.safetensors.index.json'), ...SHARDS.map((s) => join(dir, s))]);
  await expect(page.getByRole('radio', { name: /From disk: model \(from disk\) \(index \+ 2 shards, / })).toBeChecked();
  await page.getByTestId('load-model').click();
  await expect(page.getByTestId('model-summary')).toContainText('model (from disk)', { timeout: 120_000 });
  await expect(page.getByTestId('model-summary')).toContainText('16 Linears');
  await expect(page.getByTestId('session-error')).toHaveCount(0);
});

test('an index whose shard was not picked is refused by name before the shards are read', async ({ lab, page }) => {
  const dir = await shardedTinyGptDir();
  await lab.open();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-resume-checked', 'true', { timeout: 60_000 });
  await page.getByLabel(PICKER).setInputFiles([join(dir, 'config.json'), join(dir, 'model.safetensors.index.json'), join(dir, SHARDS[0])]);
  await expect(page.getByTestId('session-error')).toContainText(
    'model.safetensors.index.json names model-00002-of-00002.safetensors, which is not among the files: all 2 shards it names are needed with it.',
  );
  await expect(page.getByRole('radio', { name: /From disk \(open the files below\)/ })).not.toBeChecked();
  // shards without their index: refused on the names alone
  await page.getByLabel(PICKER).setInputFiles([join(dir, 'config.json'), ...SHARDS.map((s) => join(dir, s))]);
  await expect(page.getByTestId('session-error')).toContainText('are shards of a sharded checkpoint and came without model.safetensors.index.json');
});
