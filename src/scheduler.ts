import type { Kernel } from './kernel.js';
import type { ProfileSession } from './profile.js';
import type { Tensor } from './tensor.js';

/** A dispatch bound once and recorded many times: nothing is allocated when it is recorded. */
export interface Dispatch {
  readonly kernel: Kernel;
  readonly bindGroup: GPUBindGroup;
  /** Offset of this dispatch's parameters in the uniform table (dynamic offset). */
  readonly uniformOffset: number;
  /** The parameters' slot (null without a uniform): revived by the runtime if the table evicted it. */
  readonly slot?: UniformSlot | null;
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
 * One set of parameters in the uniform table. A dispatch bound once keeps its
 * slot; when the table evicts the slot (see `UniformTable`), recording the
 * dispatch again writes the same words back into the same chunk, so its bind
 * group stays valid and only the offset may move.
 */
export class UniformSlot {
  /** False once evicted: `UniformTable.revive` writes it back before it is used. */
  live = false;
  /** The last step (the table's epoch) that bound or recorded it. */
  lastUse = 0;
  offset = 0;
  constructor(
    readonly key: string,
    readonly words: Uint32Array,
    readonly chunk: number,
  ) {}
}

interface Chunk {
  buffer: GPUBuffer;
  /** Bytes of each slot in it (one size per chunk, so any free place fits any of its slots). */
  bytes: number;
  /** The slot at each place (offset / bytes), null where free. */
  members: (UniformSlot | null)[];
  free: number[];
}

/** Default bound of the uniform table: 64 chunks of 64 KiB (4 MiB; 16,384 slots at 256-byte alignment). */
export const MAX_UNIFORM_CHUNKS = 64;

/**
 * Per-dispatch parameters, each distinct set written once into a uniform
 * buffer and selected afterwards by dynamic offset. Re-binding the same
 * parameters (timestep t of the next training step) finds the slot already
 * written.
 *
 * Bounded: once `maxChunks` chunks are full, a new set takes the place of a
 * slot not used by the step being recorded (a clock sweep: the first found
 * not used in the last few steps, else any not used in this one). Values that
 * change per call (sampling seeds) would otherwise add slots forever. Only
 * when every slot is in the step being recorded does the table grow past the
 * bound. Rewriting a place with queue.writeBuffer is safe for work already
 * submitted (the queue runs it first) and for the step being recorded (it
 * does not read that place).
 */
export class UniformTable {
  private readonly list: Chunk[] = [];
  /** Submitted steps so far: a slot whose lastUse is below it is not in the step being recorded. */
  private epoch = 0;
  private hand = { chunk: 0, place: 0 };
  private readonly slots = new Map<string, UniformSlot>();
  readonly chunkBytes: number;
  /** Chunks kept before slots are recycled (default MAX_UNIFORM_CHUNKS; at least 1). */
  maxChunks = MAX_UNIFORM_CHUNKS;
  /** Slots evicted so far (for tests and diagnostics). */
  evicted = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly align: number,
    maxBinding: number,
  ) {
    this.chunkBytes = Math.min(65536, maxBinding);
  }

  /** The uniform buffers, by chunk index. */
  get chunks(): readonly GPUBuffer[] {
    return this.list.map((c) => c.buffer);
  }

  /** Parameter sets held (live slots). */
  get size(): number {
    return this.slots.size;
  }

  /** The step being recorded was submitted. */
  advance(): void {
    this.epoch++;
  }

  /** Frees the chunks and forgets every slot (the runtime's destroy). */
  destroy(): void {
    for (const c of this.list) {
      c.buffer.destroy();
      for (const s of c.members) if (s) s.live = false;
    }
    this.list.length = 0;
    this.slots.clear();
  }

  /** Marks `s` as used by the step being recorded. */
  touch(s: UniformSlot): void {
    s.lastUse = this.epoch;
  }

  /** The buffer of chunk `i`. */
  chunk(i: number): GPUBuffer {
    return this.list[i]!.buffer;
  }

  slot(words: Uint32Array, kernelKey: string): UniformSlot {
    const key = `${kernelKey}|${words.join(',')}`;
    const hit = this.slots.get(key);
    if (hit) {
      hit.lastUse = this.epoch;
      return hit;
    }
    const bytes = Math.ceil(Math.max(words.byteLength, 16) / this.align) * this.align;
    if (bytes > this.chunkBytes) throw new Error(`uniforms of ${kernelKey}: ${words.byteLength} bytes exceed a ${this.chunkBytes}-byte chunk`);
    const [c, place] = this.placeFor(bytes);
    const s = new UniformSlot(key, words.slice(), c);
    this.put(s, place);
    this.slots.set(key, s);
    return s;
  }

  /** Writes an evicted slot back into its own chunk (so bind groups made for it stay valid). */
  revive(s: UniformSlot, flush: () => void): void {
    const c = this.list[s.chunk]!;
    let place = c.free.pop();
    if (place === undefined) place = this.victimIn(s.chunk, 1) ?? this.victimIn(s.chunk, 0);
    if (place === undefined) {
      // Every slot of the chunk is in the step being recorded: submit it, then any will do.
      flush();
      place = this.victimIn(s.chunk, 0)!;
    }
    this.put(s, place);
    if (!this.slots.has(s.key)) this.slots.set(s.key, s);
  }

  /** A free place for a slot of `bytes`: in a chunk with room, a new chunk, or an evicted slot's. */
  private placeFor(bytes: number): [number, number] {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const c = this.list[i]!;
      if (c.bytes === bytes && c.free.length) return [i, c.free.pop()!];
    }
    const sameSize = this.list.some((c) => c.bytes === bytes);
    if (sameSize && this.list.length >= Math.max(1, this.maxChunks)) {
      const v = this.sweep(bytes, 8) ?? this.sweep(bytes, 0);
      if (v) return v;
    }
    const n = Math.floor(this.chunkBytes / bytes);
    const i = this.list.length;
    this.list.push({
      buffer: this.device.createBuffer({ size: this.chunkBytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: `uniforms.${i}` }),
      bytes,
      members: new Array<UniformSlot | null>(n).fill(null),
      free: Array.from({ length: n }, (_, k) => n - 1 - k),
    });
    return [i, this.list[i]!.free.pop()!];
  }

  /** Evicts the slot at a place, returning the place. */
  private evict(c: Chunk, place: number): number {
    const s = c.members[place]!;
    s.live = false;
    if (this.slots.get(s.key) === s) this.slots.delete(s.key);
    c.members[place] = null;
    this.evicted++;
    return place;
  }

  /** `true` if `s` was last used more than `age` steps before the one being recorded. */
  private old(s: UniformSlot, age: number): boolean {
    return s.lastUse < this.epoch - age;
  }

  /** Clock sweep over the chunks of one slot size: the next slot older than `age` steps, evicted. */
  private sweep(bytes: number, age: number): [number, number] | undefined {
    const total = this.list.reduce((n, c) => n + (c.bytes === bytes ? c.members.length : 0), 0);
    let { chunk, place } = this.hand;
    for (let seen = 0; seen <= total; ) {
      if (chunk >= this.list.length) [chunk, place] = [0, 0];
      const c = this.list[chunk]!;
      if (c.bytes !== bytes || place >= c.members.length) {
        [chunk, place] = [chunk + 1, 0];
        continue;
      }
      const s = c.members[place];
      seen++;
      if (s && this.old(s, age)) {
        this.hand = { chunk, place: place + 1 };
        return [chunk, this.evict(c, place)];
      }
      place++;
    }
    return undefined;
  }

  /** A slot of chunk `i` older than `age` steps, evicted; its place. */
  private victimIn(i: number, age: number): number | undefined {
    const c = this.list[i]!;
    for (let p = 0; p < c.members.length; p++) {
      const s = c.members[p];
      if (s && this.old(s, age)) return this.evict(c, p);
    }
    return undefined;
  }

  private put(s: UniformSlot, place: number): void {
    const c = this.list[s.chunk]!;
    s.offset = place * c.bytes;
    s.live = true;
    s.lastUse = this.epoch;
    c.members[place] = s;
    const w = s.words;
    if (w.byteLength) this.device.queue.writeBuffer(c.buffer, s.offset, w.buffer as ArrayBuffer, w.byteOffset, w.byteLength);
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
  /**
   * Set while `rt.profile` records: each dispatch then gets a compute pass of
   * its own with timestamp writes at its beginning and end.
   */
  profiler: ProfileSession | null = null;

  constructor(
    private readonly device: GPUDevice,
    /** A recording starts (the runtime pushes its error scopes). */
    private readonly onOpen: () => void,
    /** It was submitted, or (submitted false) dropped: either way the scopes onOpen pushed are popped. */
    private readonly onClose: (kernels: string[], submitted: boolean) => void,
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
    if (this.profiler) {
      this.endPass();
      const p = enc.beginComputePass({ label: d.kernel.name, timestampWrites: this.profiler.writes(d.kernel.name) });
      this.counters.passes++;
      p.setPipeline(d.kernel.pipeline);
      if (d.kernel.uniform) p.setBindGroup(0, d.bindGroup, [d.uniformOffset]);
      else p.setBindGroup(0, d.bindGroup);
      p.dispatchWorkgroups(d.grid[0], d.grid[1], d.grid[2]);
      p.end();
      this.counters.dispatches++;
      this.kernels.add(d.kernel.name);
      return;
    }
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

  /** Drops what was recorded since the last submit (a step that threw): it never runs. */
  discard(): void {
    if (!this.encoder) return;
    this.endPass();
    this.encoder.finish();
    this.encoder = null;
    const names = [...this.kernels];
    this.kernels.clear();
    this.profiler?.discard();
    this.onClose(names, false);
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
    const profiled = this.profiler?.resolve(this.encoder);
    const cb = this.encoder.finish();
    this.encoder = null;
    this.device.queue.submit([cb]);
    profiled?.();
    this.counters.submits++;
    const names = [...this.kernels];
    this.kernels.clear();
    this.onClose(names, true);
  }
}
