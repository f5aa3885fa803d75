/**
 * Running PyTorch from the tests: Debian's python3-torch for /usr/bin/python3
 * (another python3 may come first on PATH; WEBGPU_RNN_PYTHON names another).
 * Without it the torch tests are skipped with the reason printed, except in
 * CI (CI=true), where they fail.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, toFloat32 } from '../../src/io/safetensors.js';

export const PYTHON = process.env.WEBGPU_RNN_PYTHON ?? '/usr/bin/python3';
export const root = join(import.meta.dirname, '..', '..');

function probe(): { ok: boolean; reason: string } {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { ok: false, reason: `${PYTHON} cannot run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` };
  if (r.status !== 0) return { ok: false, reason: `${PYTHON} cannot import torch: ${r.stderr.trim().split('\n').pop()}` };
  return { ok: true, reason: `torch ${r.stdout.trim()}` };
}

export const torch = probe();
const CI = process.env.CI === 'true';

/**
 * `describe` for tests that need PyTorch: skipped (with the reason) when
 * /usr/bin/python3 cannot import torch, never in CI: there a first test fails.
 */
export function describeTorch(name: string, body: () => void): void {
  if (!torch.ok && !CI) {
    console.warn(`${name}: skipped: ${torch.reason} (apt-get install -y python3-torch)`);
    describe.skip(name, body); // skipped: PyTorch not importable outside CI (reason printed above); in CI a test fails instead
    return;
  }
  describe(name, () => {
    it(`PyTorch is importable from ${PYTHON}`, () => {
      expect(torch.ok, `${torch.reason}: CI needs Debian's python3-torch (.ci/run installs it)`).toBe(true);
    });
    body();
  });
}

/** Runs a Python script with arguments; throws with its stderr on failure; returns its stdout. */
export function python(script: string, args: string[], timeout = 120_000): string {
  const r = spawnSync(PYTHON, [script, ...args], { cwd: root, encoding: 'utf8', timeout });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

export const tempDir = (tag: string): string => mkdtempSync(join(tmpdir(), `webgpu-rnn-${tag}-`));

/** A safetensors file's tensors as Float32Array (F64 converted), with shapes and metadata. */
export function readTensors(path: string): { t: Record<string, Float32Array>; f64: Record<string, Float64Array>; shape: Record<string, number[]>; metadata: Record<string, string> } {
  const dec = decodeSafetensors(new Uint8Array(readFileSync(path)));
  const t: Record<string, Float32Array> = {};
  const f64: Record<string, Float64Array> = {};
  const shape: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(dec.tensors)) {
    shape[k] = v.shape;
    if (v.dtype === 'F64') f64[k] = v.data as Float64Array;
    t[k] = toFloat32(v);
  }
  return { t, f64, shape, metadata: dec.metadata };
}

/** max |a - b| and max |b|, for the report and the relative figure. */
export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { abs: number; ref: number; rel: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let abs = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    abs = Number.isNaN(d) ? NaN : Math.max(abs, d);
    ref = Math.max(ref, Math.abs(b[i]!));
  }
  return { abs, ref, rel: abs / ref };
}
