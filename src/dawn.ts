/**
 * Dawn (the `webgpu` npm package) as the GPU of `createRuntime` in Node.
 * Only the Node entry (src/node.ts) and the command line import this file, so
 * a browser bundle never sees `node:fs` or `webgpu`.
 *
 * `webgpu` is an optional peer dependency of webgpu-rnn (132 MB of Dawn
 * binaries that browser users do not need): it is imported by a computed
 * name, so that bundlers leave it to Node, and its absence is one clear line.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setGpuWaitHook } from './runtime.js';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

interface DawnModule {
  create: (flags: string[]) => GPU;
  globals: Record<string, unknown>;
}

let dawn: Promise<GPU> | null = null;

/** Loads Dawn once. On a machine with no GPU driver, points Vulkan at Chromium's SwiftShader. */
export function dawnGpu(): Promise<GPU> {
  dawn ??= openDawn().catch((e: unknown) => {
    dawn = null;
    throw e;
  });
  return dawn;
}

async function openDawn(): Promise<GPU> {
  const env = process.env;
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES) {
    // No GPU device node: the only working Vulkan here is SwiftShader (Mesa's
    // lavapipe, often installed alongside, is rejected by Dawn).
    const gpuNode = ['/dev/dri', '/dev/nvidia0', '/dev/kfd'].some((p) => existsSync(p));
    if (!gpuNode && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  env.XDG_RUNTIME_DIR ||= tmpdir();
  const name = 'webgpu';
  let mod: DawnModule;
  try {
    mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ name)) as DawnModule;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(
        "createRuntime: WebGPU in Node needs Dawn: run `npm install webgpu` (an optional peer dependency of webgpu-rnn), or pass createRuntime({ gpu })",
        { cause: e },
      );
    }
    throw e;
  }
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  if (env.WEBGPU_RNN_DAWN_POLL !== 'immediate') pollDawnOnTimer();
  return mod.create(['disable-dawn-features=timestamp_quantization']);
}

/**
 * How long a wait for the GPU polls Dawn back to back (ms) before it polls on a
 * 1 ms timer: short waits (a small read-back) keep their latency.
 */
export const DAWN_BUSY_POLL_MS = 2;

let pollingPatched = false;
/** When the current wait began (performance.now()). */
let waitStart = 0;
/** True while one of Dawn's poll callbacks runs (the poll it schedules continues the same wait). */
let inPoll = false;

/** A new wait for the GPU begins (a read, a sync): Dawn is polled back to back again for DAWN_BUSY_POLL_MS. */
export function dawnWaitStarted(): void {
  waitStart = performance.now();
}

/**
 * Lets the CPU go while Node waits for the GPU.
 *
 * Dawn's Node binding resolves every GPU promise (mapAsync,
 * onSubmittedWorkDone, popErrorScope, ...) by polling its instance
 * (wgpuInstanceProcessEvents) from a `setImmediate` callback that schedules
 * itself again while any promise is pending (its AsyncRunner). That loop never
 * lets the event loop sleep: the JS thread spins a core for the whole wait.
 * On SwiftShader, whose worker threads run the shaders on the same cores, the
 * spin took a core from them: a training step in Node was 1.8-2.1x slower
 * than the same step in Chromium, whose renderer waits without spinning.
 *
 * The binding looks `setImmediate` up on the global object each time it
 * schedules a poll, so this wraps the global: a poll callback of Dawn's (a
 * native function without a name; JS callbacks have source, bound functions
 * a name) goes to `setImmediate` for the first DAWN_BUSY_POLL_MS of a wait,
 * then to a 1 ms `setTimeout`, so the event loop sleeps in the OS between
 * polls (about 1000 polls a second, each a fence check). A wait begins when
 * Dawn starts polling (its first pending promise) or when the runtime starts
 * one (`dawnWaitStarted`: reads and syncs). Every other callback goes to
 * `setImmediate` unchanged. `WEBGPU_RNN_DAWN_POLL=immediate` leaves Dawn's
 * polling as it is.
 */
export function pollDawnOnTimer(): void {
  if (pollingPatched) return;
  pollingPatched = true;
  setGpuWaitHook(dawnWaitStarted);
  const g = globalThis as unknown as { setImmediate: (fn: (...a: unknown[]) => void, ...a: unknown[]) => unknown };
  const immediate = g.setImmediate;
  const timeout = globalThis.setTimeout;
  const toSource = Function.prototype.toString;
  const wrapped = function (this: unknown, fn: (...a: unknown[]) => void, ...args: unknown[]): unknown {
    if (typeof fn !== 'function' || fn.name !== '' || args.length !== 0 || !toSource.call(fn).includes('[native code]')) {
      return immediate.call(this, fn, ...args);
    }
    const now = performance.now();
    if (!inPoll) waitStart = now;
    const poll = (): void => {
      inPoll = true;
      try {
        fn();
      } finally {
        inPoll = false;
      }
    };
    if (now - waitStart > DAWN_BUSY_POLL_MS) {
      timeout(poll, 1);
      return undefined; // Dawn ignores what setImmediate returns
    }
    return immediate.call(this, poll);
  };
  // Keeps util.promisify(setImmediate) working (util.promisify.custom, a symbol).
  for (const sym of Object.getOwnPropertySymbols(immediate)) {
    Object.defineProperty(wrapped, sym, Object.getOwnPropertyDescriptor(immediate, sym)!);
  }
  g.setImmediate = wrapped as typeof g.setImmediate;
}
