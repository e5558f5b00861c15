import { GpuError } from './errors';

export interface DeviceInfo {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  features: { timestampQuery: boolean; shaderF16: boolean; subgroups: boolean };
  limits: GPUSupportedLimits;
  /** Resolves (never rejects) when the device is lost; the engine surfaces it as a GpuError. */
  lost: Promise<GPUDeviceLostInfo>;
}

export interface AcquireOptions {
  /** A GPU object other than navigator.gpu (Node's `webgpu` package passes its own). */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Minimum limits the caller needs; a lower adapter limit raises 'limit-too-low' naming the number. */
  minLimits?: Partial<Record<'maxStorageBufferBindingSize' | 'maxBufferSize' | 'maxComputeWorkgroupStorageSize' | 'maxComputeInvocationsPerWorkgroup', number>>;
}

// The adapter limits we ask for. Default device limits are much lower than what adapters offer
// (e.g. 128 MiB storage bindings); asking for the adapter's own values is allowed and free.
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export function navigatorGpu(): GPU | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu;
}

export async function acquireDevice(opts: AcquireOptions = {}): Promise<DeviceInfo> {
  const gpu = opts.gpu ?? navigatorGpu();
  if (!gpu) throw new GpuError('no-navigator-gpu', 'WebGPU is not available.');
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch (e) {
    throw new GpuError('no-adapter', `requestAdapter() threw: ${(e as Error).message}.`);
  }
  if (!adapter) throw new GpuError('no-adapter', 'No WebGPU adapter.');

  for (const [name, need] of Object.entries(opts.minLimits ?? {})) {
    const have = (adapter.limits as unknown as Record<string, number>)[name];
    if (need !== undefined && have < need) {
      throw new GpuError('limit-too-low', `The adapter's ${name} is ${have}, the lab needs ${need}.`);
    }
  }

  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  // Optional features only when the adapter has them: asking for a missing one fails the request.
  for (const f of ['timestamp-query', 'shader-f16', 'subgroups'] as GPUFeatureName[]) {
    if (adapter.features.has(f)) requiredFeatures.push(f);
  }

  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new GpuError('device-failed', `requestDevice() failed: ${(e as Error).message}.`);
  }
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  return {
    device,
    adapterInfo: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
    },
    features: {
      timestampQuery: device.features.has('timestamp-query'),
      shaderF16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
    },
    limits: device.limits,
    lost: device.lost,
  };
}

export function describeAdapter(info: DeviceInfo): string {
  const a = info.adapterInfo;
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'unknown adapter';
  const f = Object.entries(info.features)
    .filter(([, v]) => v)
    .map(([k]) => k);
  return `${name} (features: ${f.join(', ') || 'none'})`;
}
