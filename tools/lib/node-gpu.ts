// A GpuEngine in Node through the `webgpu` package (Dawn). On machines without a GPU, Dawn finds
// SwiftShader only when VK_ICD_FILENAMES points at its ICD *before the process starts*; the npm
// scripts set it (see package.json), and we say so when no adapter appears.
import { GpuEngine } from '../../src/backend/gpu';

// Trap: the GPU object from create() must stay reachable. If it is garbage-collected, Dawn's
// instance is destroyed while work is in flight and the next event poll crashes the process
// (futex errors / SIGSEGV in InstanceBase::ProcessEvents once a dispatch runs long enough for a GC).
const liveInstances: GPU[] = [];

export async function nodeGpuEngine(): Promise<GpuEngine> {
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create([]);
  liveInstances.push(gpu);
  try {
    return await GpuEngine.create({ gpu });
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\nIn Node, set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (Debian chromium) ` +
        'before starting, and install libvulkan1.',
      { cause: e },
    );
  }
}
