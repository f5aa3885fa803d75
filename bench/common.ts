/** Helpers shared by the benchmark pages (bench/*.ts). */

/** What bench/counters.js counts on the page: every WebGPU user's dispatches, submits and allocations. */
export interface GpuCount {
  dispatches: number;
  submits: number;
  buffers: number;
  bindGroups: number;
}

export const gpuCount = (): GpuCount => ({ ...(window as unknown as { __gpuCount: GpuCount }).__gpuCount });

/** Deterministic data in [-1, 1) (an LCG: the same on both sides of a comparison). */
export function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

export function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** max |ours - ref| / max |ref|. */
export function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (ours.length !== ref.length) throw new Error(`length ${ours.length} vs ${ref.length}`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    d = Math.max(d, Math.abs(ours[i]! - ref[i]!));
    m = Math.max(m, Math.abs(ref[i]!));
  }
  return d / Math.max(m, 1e-30);
}

/** The parts of TF.js's WebGPUBackend used to end a batch the way its own read-back does. */
export interface TfWebGPUBackend {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** Submits what TF.js has recorded (it batches up to 15 dispatches per submit) and waits for the queue. */
export async function tfFinish(backend: TfWebGPUBackend): Promise<void> {
  if (backend.commandEncoder) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
  await backend.device.queue.onSubmittedWorkDone();
}
