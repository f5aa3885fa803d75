import type { Kernel } from './kernel.js';
import type { Tensor } from './tensor.js';

/** A dispatch bound once and recorded many times: nothing is allocated when it is recorded. */
export interface Dispatch {
  readonly kernel: Kernel;
  readonly bindGroup: GPUBindGroup;
  /** Offset of this dispatch's parameters in the uniform table (dynamic offset). */
  readonly uniformOffset: number;
  readonly grid: readonly [number, number, number];
  /** The tensors bound (checked again when the dispatch is recorded: none may have been destroyed since). */
  readonly tensors?: readonly Tensor[];
}

/** Counts of recorded work, cumulative since the runtime was made. */
export interface Counters {
  dispatches: number;
  passes: number;
  submits: number;
  copies: number;
}

/**
 * Per-dispatch parameters, each distinct set written once into a uniform
 * buffer and selected afterwards by dynamic offset. Re-binding the same
 * parameters (timestep t of the next training step) finds the slot already
 * written. Chunks are added when the table fills; a chunk is never rewritten.
 */
export class UniformTable {
  readonly chunks: GPUBuffer[] = [];
  private used = 0;
  private readonly slots = new Map<string, { chunk: number; offset: number }>();
  readonly chunkBytes: number;

  constructor(
    private readonly device: GPUDevice,
    private readonly align: number,
    maxBinding: number,
  ) {
    this.chunkBytes = Math.min(65536, maxBinding);
  }

  get size(): number {
    return this.slots.size;
  }

  /** Frees the chunks and forgets every slot (the runtime's destroy). */
  destroy(): void {
    for (const c of this.chunks) c.destroy();
    this.chunks.length = 0;
    this.slots.clear();
    this.used = 0;
  }

  slot(words: Uint32Array, kernelKey: string): { chunk: number; offset: number } {
    const key = `${kernelKey}|${words.join(',')}`;
    let s = this.slots.get(key);
    if (s) return s;
    const bytes = Math.ceil(Math.max(words.byteLength, 16) / this.align) * this.align;
    if (this.chunks.length === 0 || this.used + bytes > this.chunkBytes) {
      this.chunks.push(
        this.device.createBuffer({
          size: this.chunkBytes,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
          label: `uniforms.${this.chunks.length}`,
        }),
      );
      this.used = 0;
    }
    s = { chunk: this.chunks.length - 1, offset: this.used };
    if (words.byteLength) this.device.queue.writeBuffer(this.chunks[s.chunk]!, s.offset, words.buffer as ArrayBuffer, words.byteOffset, words.byteLength);
    this.used += bytes;
    this.slots.set(key, s);
    return s;
  }
}

/**
 * Records dispatches and copies into one command encoder (one compute pass
 * while only dispatches follow each other) until `submit()`, which finishes
 * the encoder and makes exactly one `queue.submit`.
 */
export class Recorder {
  readonly counters: Counters = { dispatches: 0, passes: 0, submits: 0, copies: 0 };
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private lastPipeline: GPUComputePipeline | null = null;
  private lastGroup: GPUBindGroup | null = null;
  private lastOffset = -1;
  /** Names of the kernels recorded since the last submit (for error messages). */
  private readonly kernels = new Set<string>();

  constructor(
    private readonly device: GPUDevice,
    private readonly onOpen: () => void,
    private readonly onSubmit: (kernels: string[]) => void,
  ) {}

  get pending(): boolean {
    return this.encoder !== null;
  }

  private open(): GPUCommandEncoder {
    if (!this.encoder) {
      this.onOpen();
      this.encoder = this.device.createCommandEncoder({ label: 'step' });
    }
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
      this.lastPipeline = null;
      this.lastGroup = null;
      this.lastOffset = -1;
    }
  }

  dispatch(d: Dispatch): void {
    const enc = this.open();
    if (!this.pass) {
      this.pass = enc.beginComputePass({ label: 'step' });
      this.counters.passes++;
    }
    const p = this.pass;
    if (this.lastPipeline !== d.kernel.pipeline) {
      p.setPipeline(d.kernel.pipeline);
      this.lastPipeline = d.kernel.pipeline;
    }
    if (this.lastGroup !== d.bindGroup || this.lastOffset !== d.uniformOffset) {
      if (d.kernel.uniform) p.setBindGroup(0, d.bindGroup, [d.uniformOffset]);
      else p.setBindGroup(0, d.bindGroup);
      this.lastGroup = d.bindGroup;
      this.lastOffset = d.uniformOffset;
    }
    p.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
    this.counters.dispatches++;
    this.kernels.add(d.kernel.name);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    const enc = this.open();
    this.endPass();
    enc.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.counters.copies++;
  }

  /** Drops whatever is recorded, unsubmitted (the runtime's destroy). */
  reset(): void {
    this.pass = null;
    this.encoder = null;
    this.lastPipeline = null;
    this.lastGroup = null;
    this.lastOffset = -1;
    this.kernels.clear();
  }

  /** Finishes the encoder and submits it; a no-op when nothing was recorded. */
  submit(): void {
    if (!this.encoder) return;
    this.endPass();
    const cb = this.encoder.finish();
    this.encoder = null;
    this.device.queue.submit([cb]);
    this.counters.submits++;
    const names = [...this.kernels];
    this.kernels.clear();
    this.onSubmit(names);
  }
}
