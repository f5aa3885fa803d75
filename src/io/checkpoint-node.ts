/**
 * File helpers for checkpoints in Node. `node:fs/promises` is imported on
 * first use, so this module also loads in browsers (where calling these
 * functions throws a clear error instead).
 */
import { decodeSafetensors, encodeSafetensors, type DecodeOptions, type SafeTensor } from './safetensors.js';

type FsPromises = typeof import('node:fs/promises');

let fsPromise: Promise<FsPromises> | undefined;

function fs(): Promise<FsPromises> {
  // A computed specifier keeps bundlers from resolving (or shimming) node:fs for the browser build.
  const spec = 'node:fs/promises';
  fsPromise ??= (import(/* @vite-ignore */ spec) as Promise<FsPromises>).catch((e: unknown) => {
    fsPromise = undefined;
    throw new Error('checkpoint: file access needs Node (node:fs/promises is not available here)', { cause: e });
  });
  return fsPromise;
}

const code = (e: unknown): string =>
  (typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string'
    ? (e as { code: string }).code
    : e instanceof Error
      ? e.message
      : String(e));

/**
 * Writes `bytes` to `path` atomically: into a temporary file next to it, then
 * renamed over it, so a crash mid-write never leaves a truncated checkpoint.
 */
export async function saveFile(path: string, bytes: Uint8Array): Promise<void> {
  const { writeFile, rename, rm } = await fs();
  const tmp = `${path}.tmp-${Math.random().toString(36).slice(2, 10)}`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new Error(`checkpoint: cannot write "${path}" (${code(e)})`, { cause: e });
  }
}

/** Reads a whole file as a Uint8Array. */
export async function loadFile(path: string): Promise<Uint8Array> {
  const { readFile } = await fs();
  try {
    const buf = await readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new Error(`checkpoint: cannot read "${path}" (${code(e)})`, { cause: e });
  }
}

/** `encodeSafetensors` then `saveFile`. */
export async function saveSafetensors(
  path: string,
  tensors: Parameters<typeof encodeSafetensors>[0],
  metadata?: Record<string, string>,
): Promise<void> {
  await saveFile(path, encodeSafetensors(tensors, metadata));
}

/** `loadFile` then `decodeSafetensors`; a format error names the file. */
export async function loadSafetensors(
  path: string,
  opts?: DecodeOptions,
): Promise<{ tensors: Record<string, SafeTensor>; metadata: Record<string, string> }> {
  const bytes = await loadFile(path);
  try {
    return decodeSafetensors(bytes, opts);
  } catch (e) {
    throw new Error(`${(e as Error).message} (in "${path}")`, { cause: e });
  }
}
