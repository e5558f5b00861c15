// Counts the WebGPU objects a device creates, by wrapping its create* methods (soak diagnostics:
// which objects, if any, are made per step once the run is warm). Wrapping only adds an own property
// per method on this device object; the objects themselves are untouched.
const METHODS = [
  'createBuffer',
  'createBindGroup',
  'createCommandEncoder',
  'createComputePipeline',
  'createShaderModule',
  'createQuerySet',
  'createBindGroupLayout',
  'createPipelineLayout',
  'createTexture',
  'createSampler',
] as const;

export type DeviceCounts = Record<(typeof METHODS)[number], number>;

/** `null` (an engine without a device): every count stays zero. */
export function countDeviceCreations(device: GPUDevice | null): DeviceCounts {
  const counts = Object.fromEntries(METHODS.map((m) => [m, 0])) as DeviceCounts;
  if (!device) return counts;
  const d = device as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const m of METHODS) {
    const original = d[m];
    if (typeof original !== 'function') continue;
    d[m] = (...args: unknown[]) => {
      counts[m]++;
      return original.apply(device, args);
    };
  }
  return counts;
}
