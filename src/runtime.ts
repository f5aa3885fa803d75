import { NO_TIMESTAMPS, Profile, ProfileSession } from './profile.js';
import { compileKernel, type Kernel, type KernelDesc, type Params } from './kernel.js';
import { Recorder, UniformTable, type Counters, type Dispatch, type UniformSlot } from './scheduler.js';
import { Arena, Tensor, checkLive, checkShape, fmtShape, numel, trackDestroy, type ArenaTable } from './tensor.js';

export interface RuntimeOptions {
  /** A `GPU` object to use instead of `navigator.gpu` / Dawn. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /**
   * `'max'` (default): ask for the adapter's largest compute limits;
   * `'default'`: stay within WebGPU's defaults (what every browser gives).
   */
  limits?: 'max' | 'default';
  /** Print the one-line notice when running on a CPU adapter (default true). */
  quiet?: boolean;
  /**
   * Ask for `timestamp-query` where the adapter has it (default true): what
   * `rt.profile` measures with. `false` opens a device without it.
   */
  timestampQuery?: boolean;
}

/** A WebGPU error (validation, out-of-memory, internal, device loss), naming the kernels involved. */
export class GPUKernelError extends Error {
  constructor(
    message: string,
    readonly kernels: string[],
    readonly kind: string,
  ) {
    super(message);
    this.name = 'GPUKernelError';
  }
}

const COMPUTE_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxDynamicUniformBuffersPerPipelineLayout',
] as const;

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
let cpuNoticeShown = false;

/**
 * Where `createRuntime` gets a GPU when neither `options.gpu` nor
 * `navigator.gpu` gives one. The Node entry (src/node.ts) sets Dawn here; the
 * browser entry sets nothing, so it never refers to Node modules.
 */
let gpuProvider: (() => Promise<GPU>) | null = null;

export function setGpuProvider(provider: (() => Promise<GPU>) | null): void {
  gpuProvider = provider;
}

/**
 * Told when a read or a sync starts waiting for the GPU. In Node, Dawn's
 * polling sets it (src/dawn.ts: the first ms of each wait are polled back to
 * back, the rest on a timer).
 */
let waitHook: (() => void) | null = null;

export function setGpuWaitHook(hook: (() => void) | null): void {
  waitHook = hook;
}

function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node;
}

/** Whether an adapter runs on the CPU (SwiftShader, a fallback adapter). */
function cpuAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const text = `${info.architecture} ${info.description} ${info.device} ${info.vendor}`.toLowerCase();
  return text.includes('swiftshader') || text.includes('llvmpipe') || !!info.isFallbackAdapter;
}

/**
 * Opens a WebGPU device: `navigator.gpu` in a browser, Dawn (the `webgpu`
 * package) in Node. Asks for the adapter's larger compute limits.
 */
/** Bind groups kept for reuse: far more than one training step uses, few enough that dead buffers' groups go. */
const MAX_GROUPS = 4096;

export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  let gpu = options.gpu ?? (typeof navigator !== 'undefined' ? (navigator as Navigator).gpu : undefined);
  if (!gpu && gpuProvider) gpu = await gpuProvider();
  if (!gpu && isNode()) {
    throw new Error("createRuntime: no WebGPU in this Node process: import from 'webgpu-rnn/node' (Dawn, with `npm install webgpu`) or pass createRuntime({ gpu })");
  }
  if (!gpu) throw new Error('WebGPU is not available: navigator.gpu is missing (use a browser with WebGPU enabled)');
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  if (!adapter) {
    throw new Error(
      'WebGPU: no adapter found. In Node without a GPU install Chromium (it ships SwiftShader) and libvulkan1, ' +
        `or set VK_ICD_FILENAMES to a Vulkan ICD (e.g. ${SWIFTSHADER_ICD})`,
    );
  }
  const requiredLimits: Record<string, number> = {};
  if (options.limits !== 'default') {
    for (const k of COMPUTE_LIMITS) {
      const v = (adapter.limits as unknown as Record<string, number>)[k];
      if (typeof v === 'number') requiredLimits[k] = v;
    }
  }
  const wanted = (options.timestampQuery === false ? ['subgroups'] : ['timestamp-query', 'subgroups']) as GPUFeatureName[];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'webgpu-rnn' });
  const cpu = cpuAdapter(adapter);
  if (cpu && !options.quiet && !cpuNoticeShown) {
    cpuNoticeShown = true;
    console.warn(
      `webgpu-rnn: running on ${adapter.info.architecture || adapter.info.description || 'a CPU adapter'} (CPU); expect CPU speeds`,
    );
  }
  return new Runtime(device, adapter.info, cpu, gpu);
}

interface PendingCheck {
  promise: Promise<unknown>;
}

/**
 * A WebGPU device with the project's machinery: compiled kernels (cached),
 * a uniform table, a recorder that puts everything until `submit()` into
 * one command encoder, tensors, arenas, uploads and downloads.
 */
export class Runtime {
  readonly recorder: Recorder;
  readonly uniforms: UniformTable;
  readonly limits: GPUSupportedLimits;
  private readonly pipelines = new Map<string, Kernel>();
  private readonly layouts = new Map<string, GPUBindGroupLayout>();
  /** Bind groups by kernel, buffers, ranges and uniform chunk (at most MAX_GROUPS, oldest dropped first). */
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private readonly staging = new Map<number, GPUBuffer[]>();
  private errors: GPUKernelError[] = [];
  private checks: PendingCheck[] = [];
  private lostInfo: GPUDeviceLostInfo | null = null;
  private destroyed = false;

  constructor(
    readonly device: GPUDevice,
    readonly adapterInfo: GPUAdapterInfo,
    /** True on a CPU adapter (SwiftShader): kernels pick CPU-friendly tile sizes. */
    readonly isCpu: boolean,
    /**
     * The GPU object the device came from, kept for the runtime's life: Dawn in Node crashes
     * when its `GPU` (from `create()`) is collected while a device of it is in use.
     */
    readonly gpu: GPU | null = null,
  ) {
    this.limits = device.limits;
    this.uniforms = new UniformTable(device, device.limits.minUniformBufferOffsetAlignment, device.limits.maxUniformBufferBindingSize);
    this.recorder = new Recorder(
      device,
      () => {
        device.pushErrorScope('validation');
        device.pushErrorScope('out-of-memory');
        device.pushErrorScope('internal');
      },
      (kernels, submitted) => {
        if (submitted) this.uniforms.advance();
        // A dropped recording pops its scopes too: left pushed, they would swallow every later error.
        this.popScopes(kernels, submitted ? 'submitted step' : 'dropped step');
      },
    );
    // Both callbacks reach the runtime only through a WeakRef: the device (which the WebGPU
    // implementation may keep alive) must not keep a destroyed runtime alive.
    const self = new WeakRef(this);
    void device.lost.then((info) => {
      const rt = self.deref();
      if (rt) rt.lostInfo = info;
    });
    this.onUncapturedError = (ev: Event) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      self.deref()?.errors.push(new GPUKernelError(`WebGPU error: ${e.message}`, [], e.constructor?.name ?? 'error'));
    };
    device.addEventListener?.('uncapturederror', this.onUncapturedError);
  }

  private readonly onUncapturedError: (ev: Event) => void;

  /** Bind groups held for reuse (bounded: groups of destroyed buffers age out). */
  get cachedBindGroups(): number {
    return this.groups.size;
  }

  get counters(): Readonly<Counters> {
    return this.recorder.counters;
  }

  get features(): ReadonlySet<string> {
    return this.device.features as unknown as ReadonlySet<string>;
  }

  private popScopes(kernels: string[], what: string): void {
    const kinds = ['internal', 'out-of-memory', 'validation'];
    for (const kind of kinds) {
      const p = this.device.popErrorScope().then((e) => {
        if (e) {
          this.errors.push(
            new GPUKernelError(`WebGPU ${kind} error in ${what} (kernels: ${kernels.join(', ') || 'none'}): ${e.message}`, kernels, kind),
          );
        }
      });
      this.checks.push({ promise: p.catch(() => undefined) });
    }
  }

  /** Throws if the device was lost or destroyed. */
  checkAlive(): void {
    if (this.destroyed) throw new Error('webgpu-rnn: this runtime was destroyed');
    if (this.lostInfo) {
      throw new GPUKernelError(`WebGPU device lost (${this.lostInfo.reason}): ${this.lostInfo.message}`, [], 'device-lost');
    }
  }

  /** Awaits outstanding error checks and throws the first WebGPU error seen, if any. */
  async checkErrors(): Promise<void> {
    while (this.checks.length) {
      const checks = this.checks;
      this.checks = [];
      await Promise.all(checks.map((c) => c.promise));
    }
    if (this.errors.length) {
      const [first, ...rest] = this.errors;
      this.errors = [];
      if (rest.length) first!.message += ` (and ${rest.length} more)`;
      throw first!;
    }
    this.checkAlive();
  }

  /** Runs `fn` inside validation/out-of-memory scopes; errors surface at the next `sync()`/`read()`. */
  private scoped<T>(what: string, fn: () => T): T {
    this.device.pushErrorScope('validation');
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('internal');
    try {
      return fn();
    } finally {
      this.popScopes([what], what);
    }
  }

  // ---------------------------------------------------------------- kernels

  kernel(desc: KernelDesc): Kernel {
    this.checkAlive();
    return this.scoped(desc.name, () =>
      compileKernel(this.device, desc, { pipelines: this.pipelines, layouts: this.layouts }),
    );
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
    return id;
  }

  /** The range of `t.buffer` bound for `t`: the whole buffer when the limit allows, so views share bind groups. */
  private window(t: Tensor): { offset: number; size: number } {
    const max = this.limits.maxStorageBufferBindingSize;
    if (t.buffer.size <= max) return { offset: 0, size: t.buffer.size };
    const align = this.limits.minStorageBufferOffsetAlignment;
    const offset = Math.floor(t.byteOffset / align) * align;
    const size = Math.min(t.buffer.size - offset, max);
    if (t.byteOffset + t.byteLength > offset + size) {
      throw new Error(`${t.label}: ${t.byteLength} bytes at ${t.byteOffset} exceed maxStorageBufferBindingSize ${max}`);
    }
    return { offset, size };
  }

  /**
   * Binds tensors (by the WGSL binding names) and parameters to a kernel,
   * checked before anything reaches the GPU. The bind group and the uniform
   * slot are cached, so binding the same thing again allocates nothing.
   * Each tensor's element offset fills the uniform field `off<Name>` when
   * the struct has one; such a kernel takes views at any offset.
   */
  bind(kernelOrDesc: Kernel | KernelDesc, tensors: Record<string, Tensor>, params: Params = {}): Dispatch {
    this.checkAlive();
    const kernel = 'pipeline' in kernelOrDesc ? kernelOrDesc : this.kernel(kernelOrDesc);
    const name = kernel.name;
    for (const key of Object.keys(tensors)) {
      if (!kernel.storage.some((s) => s.name === key)) {
        throw new Error(
          `kernel ${name}: no binding '${key}'; it binds ${kernel.storage.map((s) => s.name).join(', ')}`,
        );
      }
    }
    const extents = kernel.desc.extents?.(params) ?? {};
    const auto: Params = {};
    const written = new Map<GPUBuffer, string>();
    const read = new Map<GPUBuffer, string>();
    const entries: GPUBindGroupEntry[] = [];
    const bound: Tensor[] = [];
    const keyParts: (string | number)[] = [kernel.layoutKey];
    for (const s of kernel.storage) {
      const t = tensors[s.name];
      if (!t) throw new Error(`kernel ${name}: binding '${s.name}' is missing`);
      if (!(t instanceof Tensor)) throw new Error(`kernel ${name}: binding '${s.name}' must be a Tensor`);
      if (t.rt !== this) throw new Error(`kernel ${name}: binding '${s.name}' (${t.label}) belongs to another runtime`);
      checkLive(`kernel ${name}: binding '${s.name}'`, t);
      bound.push(t);
      if (!(t.buffer.usage & GPUBufferUsage.STORAGE)) {
        throw new Error(
          `kernel ${name}: binding '${s.name}' needs a buffer with STORAGE usage; ${t.label}'s buffer has usage 0x${t.buffer.usage.toString(16)}`,
        );
      }
      const need = extents[s.name] ?? 1;
      if (t.size < need) {
        throw new Error(
          `kernel ${name}: binding '${s.name}' needs ${need} elements (${need * 4} bytes) but ${t.label} ${fmtShape(t.shape)} has ${t.size} (${t.byteLength} bytes)`,
        );
      }
      if (s.access !== 'read') {
        const other = written.get(t.buffer);
        if (other !== undefined) {
          throw new Error(
            `kernel ${name}: bindings '${other}' and '${s.name}' (both read_write) are in the same GPU buffer; ` +
              `WebGPU forbids writable bindings that overlap: put them in different arenas`,
          );
        }
      }
      (s.access === 'read' ? read : written).set(t.buffer, s.name);
      const w = this.window(t);
      if (s.offsetField) auto[s.offsetField] = (t.byteOffset - w.offset) / 4;
      else if (t.byteOffset !== w.offset) {
        throw new Error(
          `kernel ${name}: binding '${s.name}' cannot take a view at byte ${t.byteOffset} (${t.label}); the shader has no '${'off' + s.name[0]!.toUpperCase() + s.name.slice(1)}' field`,
        );
      }
      entries.push({ binding: s.binding, resource: { buffer: t.buffer, offset: w.offset, size: w.size } });
      keyParts.push(this.bufferId(t.buffer), w.offset, w.size);
    }
    for (const [buf, rName] of read) {
      const wName = written.get(buf);
      if (wName !== undefined) {
        throw new Error(
          `kernel ${name}: binding '${rName}' (read) and '${wName}' (read_write) are in the same GPU buffer; ` +
            `WebGPU forbids that within one dispatch: put them in different arenas`,
        );
      }
    }
    let slot: UniformSlot | null = null;
    if (kernel.uniform) {
      // Offsets of tensors this entry point does not bind are unused: zero.
      for (const f of kernel.uniform.fields) {
        if (/^off[A-Z]/.test(f.name) && !(f.name in auto) && !kernel.storage.some((s) => s.offsetField === f.name)) {
          auto[f.name] = 0;
        }
      }
      const words = kernel.encodeParams(params, auto);
      slot = this.uniforms.slot(words, kernel.uniform.struct);
      const chunk = this.uniforms.chunk(slot.chunk);
      entries.push({ binding: kernel.uniform.binding, resource: { buffer: chunk, offset: 0, size: Math.ceil(kernel.uniform.size / 16) * 16 } });
      keyParts.push('u', slot.chunk);
    } else if (Object.keys(params).length) {
      throw new Error(`kernel ${name}: takes no parameters, got ${Object.keys(params).join(', ')}`);
    }
    const g = kernel.desc.grid(params);
    const grid: [number, number, number] = [g[0], g[1] ?? 1, g[2] ?? 1];
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    if (grid.some((n) => !Number.isInteger(n) || n < 0 || n > maxWg)) {
      throw new Error(`kernel ${name}: grid [${grid.join(', ')}] is outside 0..${maxWg} workgroups per dimension`);
    }
    const key = keyParts.join(':');
    let bindGroup = this.groups.get(key);
    if (!bindGroup) {
      bindGroup = this.scoped(name, () => this.device.createBindGroup({ layout: kernel.layout, entries, label: name }));
      this.groups.set(key, bindGroup);
      // Groups of destroyed buffers are never asked for again: keep the newest MAX_GROUPS (insertion order).
      if (this.groups.size > MAX_GROUPS) this.groups.delete(this.groups.keys().next().value!);
    }
    const uslot = slot;
    return {
      kernel,
      bindGroup,
      grid,
      tensors: bound,
      slot: uslot,
      // Read when recorded: an evicted slot comes back at another offset of the same chunk.
      get uniformOffset() {
        return uslot ? uslot.offset : 0;
      },
    };
  }

  /** Records a bound dispatch into the current step. */
  run(d: Dispatch): void {
    this.checkAlive();
    if (d.tensors) for (const t of d.tensors) checkLive(`kernel ${d.kernel.name}`, t);
    const slot = d.slot;
    if (slot) {
      if (!slot.live) this.uniforms.revive(slot, () => this.recorder.submit());
      else this.uniforms.touch(slot);
    }
    if (d.grid[0] * d.grid[1] * d.grid[2] === 0) return;
    this.recorder.dispatch(d);
  }

  /** `run(bind(...))`. */
  dispatch(kernel: Kernel | KernelDesc, tensors: Record<string, Tensor>, params: Params = {}): void {
    this.run(this.bind(kernel, tensors, params));
  }

  /**
   * Submits everything recorded since the last submit as one command buffer.
   * On a lost device nothing can run: the recording is dropped and nothing is
   * thrown, so that freeing objects after a loss (destroy() submits first)
   * does not raise a second error; the next dispatch, read or sync throws it.
   */
  submit(): void {
    if (this.destroyed) this.checkAlive();
    if (this.lostInfo) {
      this.recorder.discard();
      return;
    }
    this.recorder.submit();
  }

  /**
   * Records what `fn` records as one step and submits it once; returns the
   * counts of that step. If `fn` throws, what it recorded is dropped.
   */
  step(fn: () => void): Counters {
    const before = { ...this.counters };
    this.recorder.submit();
    try {
      fn();
    } catch (e) {
      // A step that throws (bad input found while recording) runs nothing of what it recorded.
      this.recorder.discard();
      throw e;
    }
    this.submit();
    const c = this.counters;
    return {
      dispatches: c.dispatches - before.dispatches,
      passes: c.passes - before.passes,
      submits: c.submits - before.submits,
      copies: c.copies - before.copies,
    };
  }

  /**
   * GPU time per kernel of what `fn` records: `fn` may record any number of
   * steps and may be async (`() => trainer.fit(data, { steps: 1 })`). What
   * was recorded before is submitted first and not measured. While it
   * records, every dispatch gets a compute pass of its own with timestamp
   * writes at its beginning and end (a normal step shares one pass between
   * consecutive dispatches), so the times include a pass boundary each and
   * the step runs a little slower than unprofiled.
   *
   * Where the device has no `timestamp-query` (the adapter lacks it, or
   * `createRuntime({ timestampQuery: false })`), `fn` still runs and the
   * profile says so (`supported: false`, `message`, `toString()`).
   */
  async profile(fn: () => unknown): Promise<Profile> {
    this.checkAlive();
    if (this.recorder.profiler) throw new Error('profile: already profiling (profiles do not nest)');
    if (!this.features.has('timestamp-query')) {
      await fn();
      return new Profile(false, [], [], null, NO_TIMESTAMPS);
    }
    this.recorder.submit();
    const session = new ProfileSession(this.device);
    this.recorder.profiler = session;
    try {
      await fn();
      this.recorder.submit();
    } catch (e) {
      session.release();
      throw e;
    } finally {
      this.recorder.profiler = null;
    }
    waitHook?.();
    const p = await session.collect();
    await this.checkErrors();
    return p;
  }

  /** Submits pending work, waits for the GPU, and throws any WebGPU error. */
  async sync(): Promise<void> {
    this.submit();
    waitHook?.();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  // ---------------------------------------------------------------- memory

  private createBuffer(bytes: number, label: string, mapped = false): GPUBuffer {
    this.checkAlive();
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (size > this.limits.maxBufferSize) {
      throw new Error(`${label}: ${size} bytes exceed the device's maxBufferSize ${this.limits.maxBufferSize}`);
    }
    return this.scoped(label, () =>
      trackDestroy(
        this.device.createBuffer({
          size,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
          mappedAtCreation: mapped,
          label,
        }),
      ),
    );
  }

  /** Uploads `data` as a new tensor of `shape` (its own buffer; not for the hot path). */
  tensor(data: ArrayLike<number>, shape: readonly number[], label = 'tensor'): Tensor {
    checkShape(label, shape);
    const n = numel(shape);
    if (data.length !== n) {
      throw new Error(`${label}: data has ${data.length} values, shape ${fmtShape(shape)} needs ${n}`);
    }
    const buffer = this.createBuffer(n * 4, label, true);
    new Float32Array(buffer.getMappedRange()).set(data);
    buffer.unmap();
    return new Tensor(this, buffer, 0, shape, label);
  }

  /** A new zero-filled tensor. */
  zeros(shape: readonly number[], label = 'zeros'): Tensor {
    checkShape(label, shape);
    return new Tensor(this, this.createBuffer(numel(shape) * 4, label), 0, shape, label);
  }

  /** Lays out `table` in one buffer (see `Arena`). */
  arena(table: ArenaTable, label = 'arena'): Arena {
    const { offsets, bytes } = Arena.plan(table, this.limits.minStorageBufferOffsetAlignment);
    return new Arena(this, table, this.createBuffer(bytes, label), offsets, label);
  }

  write(t: Tensor, data: ArrayLike<number>): void {
    this.checkAlive();
    checkLive('write', t);
    if (data.length !== t.size) {
      throw new Error(`${t.label}.write: data has ${data.length} values, tensor ${fmtShape(t.shape)} holds ${t.size}`);
    }
    // Work already recorded must see the old contents: submit it first.
    this.recorder.submit();
    const src = data instanceof Float32Array ? data : Float32Array.from(data);
    this.device.queue.writeBuffer(t.buffer, t.byteOffset, src.buffer, src.byteOffset, src.byteLength);
  }

  /** Copies `src` into `dst` (equal sizes) inside the current step. */
  copy(src: Tensor, dst: Tensor): void {
    this.checkAlive();
    checkLive('copy', src);
    checkLive('copy', dst);
    if (src.size !== dst.size) {
      throw new Error(`copy: ${src.label} ${fmtShape(src.shape)} and ${dst.label} ${fmtShape(dst.shape)} differ in size`);
    }
    if (src.size) this.recorder.copy(src.buffer, src.byteOffset, dst.buffer, dst.byteOffset, src.byteLength);
  }

  private acquireStaging(bytes: number): GPUBuffer {
    const size = Math.max(256, 2 ** Math.ceil(Math.log2(bytes)));
    const pool = this.staging.get(size);
    const b = pool?.pop();
    if (b) return b;
    return this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `staging.${size}` });
  }

  private releaseStaging(b: GPUBuffer): void {
    let pool = this.staging.get(b.size);
    if (!pool) this.staging.set(b.size, (pool = []));
    pool.push(b);
  }

  /**
   * Downloads `t`: the copy joins the current step, which is submitted; the
   * promise resolves when the GPU is done. Throws any WebGPU error of the step.
   */
  async read(t: Tensor): Promise<Float32Array> {
    this.checkAlive();
    checkLive('read', t);
    if (t.size === 0) return new Float32Array(0);
    const staging = this.acquireStaging(t.byteLength);
    this.recorder.copy(t.buffer, t.byteOffset, staging, 0, t.byteLength);
    this.submit();
    waitHook?.();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, t.byteLength);
    } catch (e) {
      await this.checkErrors();
      // A device lost while mapping: Chromium aborts the map before device.lost resolves. Report the loss.
      // (Only this runtime's destroy unmaps a staging buffer otherwise, so an AbortError waits for device.lost a while.)
      const wait = (e as Error)?.name === 'AbortError' && !this.destroyed ? 10_000 : 0;
      const lost = await Promise.race([this.device.lost, new Promise<null>((r) => setTimeout(() => r(null), wait))]);
      if (lost && !this.destroyed) {
        this.lostInfo ??= lost;
        this.checkAlive();
      }
      throw e;
    }
    const out = new Float32Array(staging.getMappedRange(0, t.byteLength).slice(0));
    staging.unmap();
    this.releaseStaging(staging);
    await this.checkErrors();
    return out;
  }

  /**
   * Destroys the device and lets go of everything the runtime holds (listeners,
   * kernels, bind groups, uniform chunks, staging buffers, pending checks), so
   * the runtime and its buffers can be collected. Tensors of it throw afterwards.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.removeEventListener?.('uncapturederror', this.onUncapturedError);
    for (const pool of this.staging.values()) for (const b of pool) b.destroy();
    this.staging.clear();
    this.groups.clear();
    this.pipelines.clear();
    this.layouts.clear();
    this.uniforms.destroy();
    this.recorder.reset();
    this.errors = [];
    this.checks = [];
    this.device.destroy();
  }
}
