/** The command line, as a user runs it: the built dist/cli.js in a child process. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const run = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

beforeAll(() => {
  execFileSync('npm', ['run', 'build:lib', '--silent'], { cwd: root, stdio: 'pipe' });
}, 180_000);

describe('webgpu-rnn command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-rnn-cli-'));
  const ckpt = join(dir, 'model.safetensors');

  it('train (the default command) runs on the built-in text, saves, and prints a sample', () => {
    const r = run('train', '--steps', '4', '--hidden', '16', '--batch', '2', '--out', ckpt);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/LSTM \(1 x 16\) on built-in sonnets/);
    expect(r.stdout).toMatch(/loss \d+\.\d+ -> \d+\.\d+ in 4 steps/);
    expect(r.stdout).toMatch(/saved .*model\.safetensors/);
    expect(r.stdout).toMatch(/--- sample ---\n.{10,}/s);
  });

  it('sample reads the saved model', () => {
    const r = run('sample', '--checkpoint', ckpt, '--length', '20', '--prime', 'Love');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.startsWith('Love')).toBe(true);
    expect(r.stdout.trim().length).toBeGreaterThanOrEqual(20);
  });

  it('--help for each command', () => {
    for (const args of [['--help'], ['train', '--help'], ['sample', '--help']]) {
      const r = run(...args);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Usage: webgpu-rnn/);
    }
    expect(run('train', '--help').stdout).toMatch(/--arch <arch>/);
  });

  it('bad arguments and unreadable files: one line, exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [['train', '--steps', 'ten'], /--steps must be an integer >= 1, got 'ten'/],
      [['train', '--bogus'], /unknown option '--bogus'/],
      [['train', '--data', join(dir, 'missing.txt')], /cannot read '.*missing\.txt' \(ENOENT\)/],
      [['sample', '--checkpoint', join(dir, 'missing.safetensors')], /cannot read '.*missing\.safetensors' \(ENOENT\)/],
      [['train', '--arch', 'transformer'], /argument 'transformer' is invalid/],
    ];
    const notCkpt = join(dir, 'not.safetensors');
    writeFileSync(notCkpt, 'hello');
    cases.push([['sample', '--checkpoint', notCkpt], /is not a checkpoint: safetensors: /]);
    for (const [args, msg] of cases) {
      const r = run(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  });
});
