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
  return mod.create(['disable-dawn-features=timestamp_quantization']);
}
