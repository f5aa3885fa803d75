/**
 * The real-GPU kit (bench/gpu/): its bundle is built once here with esbuild and
 * run with plain Node, no vitest and no node_modules beside it, as on a GPU
 * server: the correctness runner passes a GEMM case and both recurrent paths
 * of a small LSTM against the float64 references, and a CPU adapter is refused
 * without --allow-cpu. (The full kit, pack.sh + run.sh, takes minutes: not here.)
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
let dir = '';
const kit = (args: string[], env: Record<string, string | undefined> = {}) =>
  spawnSync(process.execPath, [join(dir, 'kit.mjs'), ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gpukit-test-'));
  const b = spawnSync(process.execPath, [join(root, 'bench/gpu/build.mjs'), join(dir, 'kit.mjs')], { cwd: root, encoding: 'utf8' });
  expect(b.status, b.stderr).toBe(0);
  // Where webgpu's bundled index.js looks for Dawn: beside the bundle (run.sh unpacks it there).
  mkdirSync(join(dir, 'dist/linux-x64'), { recursive: true });
  symlinkSync(join(root, 'node_modules/webgpu/dist/linux-x64/dawn.node'), join(dir, 'dist/linux-x64/dawn.node'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('bench/gpu kit bundle', () => {
  it('runs suite cases with plain Node and reports them in its JSON', () => {
    const out = join(dir, 'check.json');
    const only = 'gemm NT 7x13x5 alpha=0.7 beta=0.5 +bias [tiled]|lstm I=5 H=7 L=1 T=6 B=3 with states [';
    const r = kit(['check', '--allow-cpu', '--only', only, '--seed', '12345', '--json', out]);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(out, 'utf8'));
    expect(res.summary).toMatchObject({ passed: 4, failed: 0, total: 4, done: true }); // the GEMM case and the LSTM case on its three paths
    expect(res.cases.map((c: { name: string }) => c.name).join('\n')).toMatch(/\[step\][^]*\[sequence\][^]*\[gemm\]/);
    expect(res.seed).toBe(12345);
  });

  it('refuses a CPU adapter unless --allow-cpu', () => {
    const p = kit(['probe', '--allow-cpu']);
    expect(p.status, p.stderr).toBe(0);
    const { adapter } = JSON.parse(p.stdout.trim().split('\n').pop()!);
    if (!adapter.isCpu) return; // a real GPU: nothing to refuse
    // The same Vulkan driver (--allow-cpu picked SwiftShader on a machine with no GPU device node).
    const r = kit(['probe'], { VK_ICD_FILENAMES: adapter.env.VK_ICD_FILENAMES });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/refusing a CPU adapter/);
  });
});
