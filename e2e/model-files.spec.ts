// Opening a Hugging Face checkpoint from disk (file picker), and the size check that refuses huge
// files before reading them. Runs on the dev server: the size check is called through the page's
// own module (/src/state/session-slice.ts), which only the dev server serves.
import { join } from 'node:path';
import { expect, test, tinyGptDir } from './fixtures';

test('a Hugging Face checkpoint opened from disk loads; files over 2 GiB are refused before reading', async ({ lab, page }, testInfo) => {
  const dir = await tinyGptDir();
  await lab.open();
  await expect(page.getByTestId('run-status')).toHaveAttribute('data-resume-checked', 'true', { timeout: 60_000 });
  // the picker takes the checkpoint and its config.json together
  await page
    .getByLabel('Hugging Face GPT-2 or ViT: a .safetensors file and its config.json')
    .setInputFiles([join(dir, 'model.safetensors'), join(dir, 'config.json')]);
  await expect(page.getByRole('radio', { name: /From disk: model \(from disk\)/ })).toBeChecked();
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
  expect(msg[1]).toMatch(/^Open two files: a \.safetensors checkpoint and its config\.json/);
  expect(msg[2]).toBeNull();
});
