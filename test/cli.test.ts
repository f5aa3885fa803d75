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

  it('WaveNet on text (fast generation for the sample), and a CSV time series with a forecast', () => {
    const w = run('train', '--arch', 'wavenet', '--steps', '3', '--hidden', '8', '--batch', '2', '--out', join(dir, 'w.safetensors'));
    expect(w.status, w.stderr).toBe(0);
    expect(w.stdout).toMatch(/WAVENET \(1 x 8\) on built-in sonnets/);
    const s = run('sample', '--checkpoint', join(dir, 'w.safetensors'), '--length', '15', '--prime', 'Lo');
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout.trim().length).toBe(17);
    const csv = join(dir, 'series.csv');
    writeFileSync(csv, 'month,value\n' + Array.from({ length: 60 }, (_, i) => `${i},${(100 + 20 * Math.sin(i / 2)).toFixed(2)}`).join('\n'));
    for (const arch of ['gru', 'wavenet']) {
      const r = run('train', '--arch', arch, '--data', csv, '--steps', '3', '--hidden', '8', '--batch', '2');
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/60 values \(first numeric column, normalised\)/);
      expect(r.stdout).toMatch(/forecast \(next 12\): (-?\d+(\.\d+)?(e[+-]\d+)?, ){11}-?\d/);
    }
  });

  it('seq2seq: an encoder-decoder learns to reverse stretches of the text, then decodes held-out ones', () => {
    const r = run('train', '--arch', 'seq2seq', '--steps', '3', '--hidden', '8', '--batch', '4');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SEQ2SEQ \(LSTM encoder-decoder, 8 hidden\)/);
    expect(r.stdout).toMatch(/loss \d+\.\d+ -> \d+\.\d+ in 3 steps/);
    expect(r.stdout).toMatch(/held-out exact reversals: \d\/4/);
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
      [['train', '--arch', 'seq2seq', '--data', join(dir, 'series.csv')], /--arch seq2seq learns text: give a text file, not a CSV/],
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
