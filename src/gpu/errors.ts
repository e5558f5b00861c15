// Typed, actionable WebGPU failures. Each kind is a different problem for the user, so each gets
// its own message and hint (mlc-ai/web-llm does the same): "no navigator.gpu" is a browser
// problem, "adapter null" a driver/flag problem, "device lost" happens mid-run.

export type GpuErrorKind = 'no-navigator-gpu' | 'no-adapter' | 'device-failed' | 'limit-too-low' | 'device-lost' | 'out-of-memory' | 'validation';

const HINTS: Record<GpuErrorKind, string> = {
  'no-navigator-gpu':
    'This browser does not expose WebGPU (navigator.gpu is missing). Use a current Chrome, Edge or Chromium; ' +
    'on Linux start it with --enable-unsafe-webgpu; Firefox needs dom.webgpu.enabled. The lab can still run on the CPU engine, slowly.',
  'no-adapter':
    'WebGPU is present but no adapter was found (requestAdapter() returned null). The GPU may be blocklisted: ' +
    'check chrome://gpu, update the graphics driver, or enable --enable-unsafe-webgpu. The CPU engine still works.',
  'device-failed': 'The adapter refused to create a device. Close other GPU-heavy tabs and reload the page.',
  'limit-too-low': 'This GPU does not offer a limit the lab needs. Try a smaller model or another browser/GPU.',
  'device-lost': 'The GPU device was lost (driver reset, sleep, or too much memory). The lab can recreate it and resume from the last save.',
  'out-of-memory': 'The GPU ran out of memory. Use a smaller model, batch or context length.',
  validation: 'A WebGPU validation error: this is a bug in the lab; please report it with the message.',
};

export class GpuError extends Error {
  readonly kind: GpuErrorKind;
  readonly hint: string;
  constructor(kind: GpuErrorKind, detail: string) {
    super(`${detail} ${HINTS[kind]}`);
    this.name = 'GpuError';
    this.kind = kind;
    this.hint = HINTS[kind];
  }
}
