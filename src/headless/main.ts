// The headless entry (headless.html): no React, no worker. Creates the GpuEngine (or shows why it
// cannot), a LabSession over it on the main thread, and window.lab with headless-only extras:
//   chartsPng()                           → { [chart]: PNG data URL }
//   loadModelFiles(safetensorsB64, config) → a model from files (applied by the next setConfig)
//   setPriorFile(maskB64)                 → mask file for prior "file" (transfer)
//   adapter()                             → one line naming the adapter
// When the engine cannot start, window.labError holds the message (the driver reports it) and
// #status shows it. `?engine=cpu` uses the CPU engine instead (slow; for machines without WebGPU).
import { CpuEngine } from '../backend/cpu';
import type { Engine } from '../backend/engine';
import { GpuEngine } from '../backend/gpu';
import { describeAdapter } from '../gpu/device';
import { base64ToBytes, installAutomation } from '../embed/automation';
import { fetchLoader } from '../lab/assets';
import { chartFigures, renderPng } from './charts';
import { HeadlessControl } from './control';

declare global {
  interface Window {
    labError?: string;
  }
}

const status = document.getElementById('status')!;

function show(state: string, text: string): void {
  status.dataset.state = state;
  status.textContent = text;
}

async function start(): Promise<void> {
  const wantCpu = new URLSearchParams(location.search).get('engine') === 'cpu';
  let engine: Engine;
  let adapter: string;
  if (wantCpu) {
    engine = new CpuEngine();
    adapter = 'CPU engine (no WebGPU)';
  } else {
    const gpu = await GpuEngine.create();
    engine = gpu;
    adapter = describeAdapter(gpu.info);
    gpu.onLost((e) => show('error', e.message));
  }
  // Assets resolve against the page's folder, so a build served under a sub-path works too.
  const control = new HeadlessControl(engine, fetchLoader(new URL('.', location.href).href), wantCpu ? 'cpu' : 'gpu');
  control.subscribe((e) => {
    if (e.type === 'state') show(e.state, `${e.state}${e.message ? `: ${e.message}` : ''}`);
    if (e.type === 'error') show('error', e.message);
  });
  installAutomation(control, {
    adapter: () => adapter,
    async chartsPng(): Promise<Record<string, string>> {
      const m = await control.getMetrics();
      return renderPng(chartFigures(m, control.session.summary));
    },
    loadModelFiles(safetensorsB64: string, configJson: unknown): void {
      const config = typeof configJson === 'string' ? JSON.parse(configJson) : configJson;
      control.setCustomModel({ safetensors: base64ToBytes(safetensorsB64), config });
    },
    setPriorFile(maskB64: string): void {
      control.setPriorFile(base64ToBytes(maskB64));
    },
  });
  show('idle', `ready on ${adapter}`);
}

start().catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  window.labError = message;
  show('error', message);
});
