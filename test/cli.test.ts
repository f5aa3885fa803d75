/** The command line, as a user runs it: the built dist/cli.js in a child process. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureDist } from './suite/dist.js';

const root = join(import.meta.dirname, '..');
const run = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

beforeAll(() => {
  ensureDist();
}, 180_000);

describe('webgpu-rnn command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-rnn-cli-'));
  const ckpt = join(dir, 'model.safetensors');

  it('train (the default command) runs on the built-in text, saves, profiles one more step and prints a sample', () => {
    const r = run('train', '--steps', '4', '--hidden', '16', '--batch', '2', '--out', ckpt, '--profile');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/LSTM \(1 x 16\) on built-in sonnets/);
    expect(r.stdout).toMatch(/loss \d+\.\d+ -> \d+\.\d+ in 4 steps/);
    expect(r.stdout).toMatch(/saved .*model\.safetensors/);
    // --profile: Dawn in Node has timestamp queries, so a table of one step's kernels (at most 10 rows and a rest);
    // the LSTM's own rows are its cell dispatches on SwiftShader's GEMM path, its step or sequence kernels on a GPU.
    const prof = /--- profile of one training step \(top kernels\) ---\nGPU time: ([\d.]+) ms in (\d+) dispatches, 1 step[^\n]*\n(kernel +calls +total ms +mean ms +share)\n[- ]+\n((?:.+\n){1,11})/.exec(r.stdout);
    expect(prof, r.stdout).not.toBeNull();
    expect(Number(prof![1])).toBeGreaterThan(0);
    expect(Number(prof![2])).toBeGreaterThan(10);
    const rows = prof![4]!.trim().split('\n');
    expect(rows.some((l) => /^lstm_(forward|backward)_(step|seq|cells)\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+%$/.test(l)), rows.join('\n')).toBe(true);
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
      expect(r.stdout).toMatch(/60 values \(column 'value', normalised\)/);
      expect(r.stdout).toMatch(/forecast \(next 12\): (-?\d+(\.\d+)?(e[+-]\d+)?, ){11}-?\d/);
    }
  }, 300_000); // four trainings in child processes: ~20 s on a quiet machine

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
      [['train', '--steps', 'ten'], /--steps must be an integer in \[1, 1000000000\], got 'ten'/],
      [['train', '--steps', '0x2'], /--steps must be an integer in \[1, 1000000000\], got '0x2'/],
      [['train', '--seed', ''], /--seed must be an integer in \[0, 4294967295\], got ''/],
      [['train', '--seed', '4294967296'], /--seed must be an integer in \[0, 4294967295\]/],
      [['train', '--batch', '1e9'], /--batch must be an integer in \[1, 4096\], got '1e9'/],
      [['train', '--hidden', '1000000'], /--hidden must be an integer in \[1, 4096\]/],
      [['train', '--out', join(dir, 'no-such-folder', 'x.safetensors')], /--out: cannot write into '.*no-such-folder' \(ENOENT\)/],
      [['train', '--out', dir], /--out: '.*' is a folder, expected a file path/],
      [['train', '--data', join(dir, 'series.csv'), '--column', 'nope'], /--column: '.*series\.csv': no column named 'nope' \(columns: month, value\)/],
      [['train', '--data', join(dir, 'series.csv'), '--column', '7'], /--column: '.*series\.csv': column 7 does not exist/],
      [['train', '--column', 'x'], /--column: only for a \.csv --data file/],
      [['sample', '--checkpoint', ckpt, '--prime', ''], /--prime: give at least one character/],
      [['sample', '--checkpoint', ckpt, '--prime', '\u2603'], /--prime: .* is not in the model's vocabulary/],
      [['train', '--bogus'], /unknown option '--bogus'/],
      [['train', '--data', join(dir, 'missing.txt')], /cannot read '.*missing\.txt' \(ENOENT\)/],
      [['sample', '--checkpoint', join(dir, 'missing.safetensors')], /cannot read '.*missing\.safetensors' \(ENOENT\)/],
      [['train', '--arch', 'transformer'], /argument 'transformer' is invalid/],
      [['train', '--arch', 'seq2seq', '--data', join(dir, 'series.csv')], /--arch seq2seq learns text: give a text file, not a CSV/],
    ];
    const notCkpt = join(dir, 'not.safetensors');
    writeFileSync(notCkpt, 'hello');
    cases.push([['sample', '--checkpoint', notCkpt], /is not a safetensors file: safetensors: /]);
    cases.push([['train', '--resume', notCkpt], /is not a safetensors file/]);
    // A checkpoint of another model: one line naming the file and what differs.
    const otherText = join(dir, 'other.txt');
    writeFileSync(otherText, readFileSync(join(root, 'data/sonnets.txt'), 'utf8').split('').reverse().join(''));
    cases.push([['train', '--resume', ckpt, '--hidden', '16', '--data', otherText, '--steps', '1'], /--resume: '.*model\.safetensors' was trained on other data/]);
    cases.push([['train', '--resume', ckpt, '--hidden', '24', '--steps', '1'], /--resume: '.*model\.safetensors' holds a lstm 1 x 16 over \d+ symbols; this run is lstm 1 x 24/]);
    // Crafted files: a transposed weight (same count), and a metadata size that disagrees with the tensors.
    const dec = decodeSafetensors(new Uint8Array(readFileSync(ckpt)));
    const w = dec.tensors['rnn.weight_ih_l0']!;
    const tensors = Object.fromEntries(Object.entries(dec.tensors).map(([k, t]) => [k, { dtype: 'F32' as const, shape: k === 'rnn.weight_ih_l0' ? [...w.shape].reverse() : [...t.shape], data: t.data as Float32Array }]));
    const transposed = join(dir, 'transposed.safetensors');
    writeFileSync(transposed, encodeSafetensors(tensors, dec.metadata));
    cases.push([['sample', '--checkpoint', transposed], /does not fit a lstm 1 x 16 .*'rnn\.weight_ih_l0' must be \[64, 16\], got \[16, 64\]/]);
    const bigHidden = join(dir, 'hidden.safetensors');
    writeFileSync(bigHidden, encodeSafetensors(tensors, { ...dec.metadata, 'charmodel.hidden': '4000' }));
    cases.push([['sample', '--checkpoint', bigHidden], /metadata charmodel\.hidden is 4000, but tensor 'rnn\.weight_hh_l0' is \[64,16\]/]);
    const badVocab = join(dir, 'vocab.safetensors');
    writeFileSync(badVocab, encodeSafetensors(tensors, { ...dec.metadata, 'charmodel.vocab': 'null' }));
    cases.push([['sample', '--checkpoint', badVocab], /metadata 'charmodel\.vocab' must be a JSON array/]);
    for (const [args, msg] of cases) {
      const r = run(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  });
});
