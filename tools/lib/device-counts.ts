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

export function countDeviceCreations(device: GPUDevice): DeviceCounts {
  const counts = Object.fromEntries(METHODS.map((m) => [m, 0])) as DeviceCounts;
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
