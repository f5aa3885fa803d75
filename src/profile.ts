/**
 * Per-kernel GPU times from timestamp queries (`rt.profile(fn)`).
 *
 * While a profile records, every dispatch gets its own compute pass whose
 * `timestampWrites` take the time at the pass's beginning and end (a normal
 * step puts consecutive dispatches into one pass: profiling changes the pass
 * structure, and each pass boundary adds a little time of its own). Each
 * submit with dispatches is one profiled step: its queries are resolved and
 * copied to a mappable buffer inside the same command buffer, and read after
 * the step is done.
 *
 * Without the `timestamp-query` feature the profile holds nothing but says so
 * (`supported: false`, `message`). Browsers quantise timestamps unless told
 * otherwise (Chromium/Dawn: to 65.536 µs; Chromium's
 * --enable-webgpu-developer-features or
 * --disable-dawn-features=timestamp_quantization turn it off): a profile
 * whose timestamps are all multiples of one coarse quantum says so.
 */

/** Queries per GPUQuerySet (WebGPU's maximum count is 4096). */
const SET_QUERIES = 4096;
const BYTES_PER_QUERY = 8;

/** One kernel's share of a profile. */
export interface KernelTime {
  kernel: string;
  calls: number;
  /** Sum of the kernel's dispatch times, ms. */
  totalMs: number;
  /** totalMs / calls. */
  meanMs: number;
  /** totalMs over the sum of every dispatch's time (0..1). */
  share: number;
}

/** One profiled step (a submit with dispatches). */
export interface StepTime {
  dispatches: number;
  /** Sum of the step's dispatch times, ms. */
  gpuMs: number;
  /** First dispatch's beginning to the last one's end, ms (with the gaps between passes). */
  spanMs: number;
}

/** One dispatch, in recording order. */
export interface DispatchTime {
  kernel: string;
  /** Index into `steps`. */
  step: number;
  ms: number;
}

/** What `rt.profile(fn)` measured. */
export class Profile {
  constructor(
    /** False where the device has no `timestamp-query`: then nothing was measured, `message` says why. */
    readonly supported: boolean,
    readonly dispatches: readonly DispatchTime[],
    readonly steps: readonly StepTime[],
    /** Timestamp resolution when it is coarse (µs; the browser quantises), else null. */
    readonly quantumUs: number | null,
    /** Why the profile is empty, or what limits it (quantised timestamps); '' when nothing is wrong. */
    readonly message: string,
  ) {}

  /** Per-kernel times, the largest total first. */
  get kernels(): KernelTime[] {
    const by = new Map<string, { calls: number; total: number }>();
    for (const d of this.dispatches) {
      const k = by.get(d.kernel) ?? { calls: 0, total: 0 };
      k.calls++;
      k.total += d.ms;
      by.set(d.kernel, k);
    }
    const all = this.totalMs;
    return [...by]
      .map(([kernel, k]) => ({ kernel, calls: k.calls, totalMs: k.total, meanMs: k.total / k.calls, share: all > 0 ? k.total / all : 0 }))
      .sort((a, b) => b.totalMs - a.totalMs || a.kernel.localeCompare(b.kernel));
  }

  /** Sum of every dispatch's time, ms. */
  get totalMs(): number {
    return this.dispatches.reduce((s, d) => s + d.ms, 0);
  }

  get quantized(): boolean {
    return this.quantumUs !== null;
  }

  /** The `n` kernels that took longest. */
  top(n = 10): KernelTime[] {
    return this.kernels.slice(0, n);
  }

  /** A table (kernel, calls, total ms, mean ms, share), the largest first; `top` rows at most (default all). */
  toString(top = Infinity): string {
    if (!this.supported) return this.message;
    const rows = this.kernels;
    const shown = rows.slice(0, top);
    const head = ['kernel', 'calls', 'total ms', 'mean ms', 'share'];
    const body = shown.map((k) => [k.kernel, String(k.calls), k.totalMs.toFixed(3), k.meanMs.toFixed(4), `${(k.share * 100).toFixed(1)}%`]);
    if (rows.length > shown.length) {
      const rest = rows.slice(shown.length);
      const ms = rest.reduce((s, k) => s + k.totalMs, 0);
      body.push([`(${rest.length} more)`, String(rest.reduce((s, k) => s + k.calls, 0)), ms.toFixed(3), '', `${((ms / (this.totalMs || 1)) * 100).toFixed(1)}%`]);
    }
    const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
    const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
    const steps = this.steps.length;
    const span = this.steps.reduce((s, st) => s + st.spanMs, 0);
    const lines = [
      `GPU time: ${this.totalMs.toFixed(3)} ms in ${this.dispatches.length} dispatches, ${steps} step${steps === 1 ? '' : 's'} ` +
        `(${span.toFixed(3)} ms from first dispatch to last; one compute pass per dispatch while profiling)`,
      line(head),
      w.map((n) => '-'.repeat(n)).join('  '),
      ...body.map(line),
    ];
    if (this.message) lines.push(this.message);
    return lines.join('\n');
  }
}

/** The message of a profile on a device without `timestamp-query`. */
export const NO_TIMESTAMPS =
  "profile: this device has no 'timestamp-query' feature (the adapter lacks it, or it was not requested): no GPU times measured. " +
  'In Chromium it needs WebGPU with timestamp queries (Chrome 121+); in Node, Dawn offers it on most adapters';

interface StepRecord {
  names: string[];
  read: GPUBuffer;
  sets: GPUQuerySet[];
  done: Promise<void>;
}

/**
 * The recorder's side of a profile: hands out query slots for each dispatch,
 * resolves them at submit and collects the results.
 */
export class ProfileSession {
  private sets: GPUQuerySet[] = [];
  private resolves: GPUBuffer[] = [];
  private names: string[] = [];
  private readonly steps: StepRecord[] = [];
  private readonly freeResolves: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice) {}

  /** Timestamp writes for the next dispatch (kernel `name`). */
  writes(name: string): GPUComputePassTimestampWrites {
    const i = this.names.length;
    const set = Math.floor((2 * i) / SET_QUERIES);
    if (set === this.sets.length) {
      this.sets.push(this.device.createQuerySet({ type: 'timestamp', count: SET_QUERIES, label: `profile.queries.${set}` }));
      this.resolves.push(
        this.freeResolves.pop() ??
          this.device.createBuffer({ size: SET_QUERIES * BYTES_PER_QUERY, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'profile.resolve' }),
      );
    }
    this.names.push(name);
    const q = (2 * i) % SET_QUERIES;
    return { querySet: this.sets[set]!, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 };
  }

  /** The step being recorded was dropped (it threw): forget its slots. */
  discard(): void {
    for (const s of this.sets) s.destroy();
    this.freeResolves.push(...this.resolves);
    this.sets = [];
    this.resolves = [];
    this.names = [];
  }

  /** Before the step's encoder is finished: resolve its queries into a mappable buffer. */
  resolve(enc: GPUCommandEncoder): (() => void) | null {
    const n = this.names.length;
    if (!n) return null;
    const read = this.device.createBuffer({ size: this.sets.length * SET_QUERIES * BYTES_PER_QUERY, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'profile.read' });
    this.sets.forEach((set, k) => {
      const count = Math.min(SET_QUERIES, 2 * n - k * SET_QUERIES);
      enc.resolveQuerySet(set, 0, count, this.resolves[k]!, 0);
      enc.copyBufferToBuffer(this.resolves[k]!, 0, read, k * SET_QUERIES * BYTES_PER_QUERY, count * BYTES_PER_QUERY);
    });
    const rec = { names: this.names, read, sets: this.sets, done: Promise.resolve() };
    this.freeResolves.push(...this.resolves);
    this.sets = [];
    this.resolves = [];
    this.names = [];
    // After queue.submit: map the results.
    return () => {
      rec.done = read.mapAsync(GPUMapMode.READ);
      // Settled in collect(); never an unhandled rejection before that.
      rec.done.catch(() => undefined);
      this.steps.push(rec);
    };
  }

  /** Waits for every profiled step and turns its timestamps into a Profile. */
  async collect(): Promise<Profile> {
    const dispatches: DispatchTime[] = [];
    const steps: StepTime[] = [];
    const stamps: bigint[] = [];
    try {
      for (const rec of this.steps) {
        await rec.done;
        const t = new BigUint64Array(rec.read.getMappedRange().slice(0, rec.names.length * 2 * BYTES_PER_QUERY));
        const s = steps.length;
        let gpu = 0;
        for (let i = 0; i < rec.names.length; i++) {
          const b = t[2 * i]!;
          const e = t[2 * i + 1]!;
          stamps.push(b, e);
          // A clock may step back across passes on some drivers: never a negative time.
          const ms = e > b ? Number(e - b) / 1e6 : 0;
          gpu += ms;
          dispatches.push({ kernel: rec.names[i]!, step: s, ms });
        }
        const first = t[0]!;
        const last = t[2 * rec.names.length - 1]!;
        steps.push({ dispatches: rec.names.length, gpuMs: gpu, spanMs: last > first ? Number(last - first) / 1e6 : 0 });
      }
    } finally {
      this.release();
    }
    const q = quantum(stamps);
    const message =
      q === null
        ? ''
        : `profile: timestamps are quantised to ${q} µs (the browser's default): dispatches shorter than that read 0 or one quantum. ` +
          'For exact times start Chromium with --enable-webgpu-developer-features (or --disable-dawn-features=timestamp_quantization)';
    return new Profile(true, dispatches, steps, q, message);
  }

  /** Frees every query set and buffer the session made. */
  release(): void {
    for (const rec of this.steps.splice(0)) {
      for (const s of rec.sets) s.destroy();
      rec.read.destroy();
    }
    this.discard();
    for (const b of this.freeResolves.splice(0)) b.destroy();
  }
}

const gcd = (a: bigint, b: bigint): bigint => {
  while (b) [a, b] = [b, a % b];
  return a;
};

/**
 * The timestamps' common step (µs) when it is coarse (at least 1 µs, over at
 * least 4 distinct non-zero values: exact nanosecond clocks share no such
 * factor by chance), else null.
 */
export function quantum(stamps: readonly bigint[]): number | null {
  const distinct = [...new Set(stamps.filter((s) => s > 0n))];
  if (distinct.length < 4) return null;
  let g = 0n;
  for (const s of distinct) {
    g = gcd(g, s);
    if (g < 1000n) return null;
  }
  return Number(g) / 1000;
}
