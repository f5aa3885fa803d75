/**
 * Every error path of the command line (the built dist/cli.js in a child
 * process): a user's mistake (a flag's value, a file that cannot be read or
 * written, a data file that cannot be learned, a checkpoint that does not
 * fit) exits 2 with exactly one line on stderr naming the flag or file and
 * what was expected; only an internal failure exits 1. Then a small seeded
 * fuzzer: mutated copies of a real `train --out` file through `sample` and
 * `train --resume` exit 0 or 2, never 1, and a refusal is one line.
 * WEBGPU_RNN_SEED replays the fuzzer's mutations.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../src/io/safetensors.js';
import { freshSeed, rng } from './suite/check.js';
import { ensureDist } from './suite/dist.js';

const root = join(import.meta.dirname, '..');
const run = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
/** stderr without the progress bar's lines (cli-progress writes them to stderr). */
const errLines = (s: string) => s.split('\n').filter((l) => l.trim() !== '' && !/^train \[/.test(l));

const dir = mkdtempSync(join(tmpdir(), 'webgpu-rnn-cli-errors-'));
const ckpt = join(dir, 'model.safetensors');
const csvCkpt = join(dir, 'series.safetensors');
/** The small model every checkpoint case uses (and a --resume run must repeat). */
const SMALL = ['--hidden', '8', '--batch', '2'];

beforeAll(() => {
  ensureDist();
  const t = run('train', '--steps', '2', ...SMALL, '--out', ckpt);
  if (t.status !== 0) throw new Error(`train --out failed: ${t.stderr}`);
  writeFileSync(join(dir, 'ok.csv'), 't,v\n' + Array.from({ length: 60 }, (_, i) => `${i},${(i % 7) + 0.5}`).join('\n'));
  const c = run('train', '--data', join(dir, 'ok.csv'), '--steps', '1', ...SMALL, '--out', csvCkpt);
  if (c.status !== 0) throw new Error(`train --out (csv) failed: ${c.stderr}`);
}, 300_000);

/** Rewrites a checkpoint: `edit` changes its tensors and metadata in place. */
function variant(name: string, edit: (t: Record<string, SafeTensor>, m: Record<string, string>) => void, from = ckpt): string {
  const dec = decodeSafetensors(new Uint8Array(readFileSync(from)));
  const tensors: Record<string, SafeTensor> = {};
  for (const [k, t] of Object.entries(dec.tensors)) tensors[k] = { dtype: t.dtype, shape: [...t.shape], data: (t.data as Float32Array).slice() };
  const metadata = { ...dec.metadata };
  edit(tensors, metadata);
  const path = join(dir, name);
  writeFileSync(path, encodeSafetensors(tensors, metadata));
  return path;
}

function expectUsage(args: string[], msg: RegExp): void {
  const r = run(...args);
  const what = `${args.join(' ')}\nstdout: ${r.stdout.slice(-400)}\nstderr: ${r.stderr.slice(-400)}`;
  expect(r.status, what).toBe(2);
  expect(errLines(r.stderr), what).toHaveLength(1);
  expect(errLines(r.stderr)[0], what).toMatch(msg);
}

describe('CLI error paths: exit 2, one line naming the flag or file', () => {
  it("every flag's bad values", () => {
    const flags: [string, string, string[], RegExp][] = [
      ['train', '--steps', ['0', '-1', '1.5', '1e3', '0x10', '', 'ten', '1000000001'], /--steps must be an integer in \[1, 1000000000\]/],
      ['train', '--batch', ['0', '4097', 'x'], /--batch must be an integer in \[1, 4096\]/],
      ['train', '--hidden', ['0', '4097', '8.0'], /--hidden must be an integer in \[1, 4096\]/],
      ['train', '--layers', ['0', '17', 'two'], /--layers must be an integer in \[1, 16\]/],
      ['train', '--lr', ['0', '-0.1', '11', 'abc', 'NaN', 'Infinity', '1e400', ''], /--lr must be a positive number up to 10/],
      ['train', '--clip', ['0', '-1', 'Infinity', 'x'], /--clip must be a positive number/],
      ['train', '--seed', ['-1', '4294967296', '1.5', 'x'], /--seed must be an integer in \[0, 4294967295\]/],
      ['train', '--arch', ['transformer', 'LSTM', ''], /option '--arch <arch>' argument '.*' is invalid/],
      ['sample', '--length', ['0', '1000001', 'x'], /--length must be an integer in \[1, 1000000\]/],
      ['sample', '--temperature', ['0', '-1', '1001', 'hot'], /--temperature must be a positive number up to 1000/],
      ['sample', '--seed', ['-1', '4294967296'], /--seed must be an integer in \[0, 4294967295\]/],
    ];
    for (const [cmd, flag, values, msg] of flags) {
      for (const v of values) expectUsage([cmd, ...(cmd === 'sample' ? ['--checkpoint', ckpt] : []), flag, v], new RegExp(`${flag.replace(/-/g, '\\-')}.*${msg.source}|${msg.source}`));
    }
    // A flag with no value, an unknown flag, a missing required flag, an unknown command's flag.
    expectUsage(['train', '--steps'], /option '--steps <n>' argument missing/);
    expectUsage(['sample', '--checkpoint'], /option '--checkpoint <file>' argument missing/);
    expectUsage(['train', '--nope'], /unknown option '--nope'/);
    expectUsage(['sample'], /required option '--checkpoint <file>' not specified/);
    expectUsage(['sample', '--checkpoint', ckpt, '--prime', ''], /--prime: give at least one character/);
    expectUsage(['sample', '--checkpoint', ckpt, '--prime', '\u2603'], /--prime: "\u2603" is not in the model's vocabulary/);
    expectUsage(['train', '--column', 'v'], /--column: only for a \.csv --data file/);
    expectUsage(['train', '--arch', 'seq2seq', '--resume', ckpt], /--resume: not supported with --arch seq2seq/);
  });

  it('unreadable and unwritable files', () => {
    const missing = join(dir, 'missing.txt');
    expectUsage(['train', '--data', missing], /cannot read '.*missing\.txt' \(ENOENT\)/);
    expectUsage(['train', '--data', dir], /cannot read '.*' \(EISDIR\)/);
    expectUsage(['sample', '--checkpoint', missing], /--checkpoint: cannot read '.*missing\.txt' \(ENOENT\)/);
    expectUsage(['sample', '--checkpoint', dir], /--checkpoint: cannot read '.*' \(EISDIR\)/);
    expectUsage(['sample', '--checkpoint', ckpt, '--vocab', missing], /--vocab: cannot read '.*missing\.txt' \(ENOENT\)/);
    expectUsage(['train', '--resume', missing, '--steps', '1'], /--resume: cannot read '.*missing\.txt' \(ENOENT\)/);
    expectUsage(['train', '--resume', dir, '--steps', '1'], /--resume: cannot read '.*' \(EISDIR\)/);
    // --out: checked before any training, by creating a file there (access(W_OK) passes for root anywhere).
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    expectUsage(['train', '--out', join(dir, 'no-folder', 'x.safetensors')], /--out: cannot write into '.*no-folder' \(ENOENT\)/);
    expectUsage(['train', '--out', join(file, 'x.safetensors')], /--out: cannot write into '.*a-file' \(ENOTDIR\)/);
    expectUsage(['train', '--out', dir], /--out: '.*' is a folder, expected a file path/);
    expectUsage(['train', '--out', '/proc/x.safetensors'], /--out: cannot write into '\/proc' \(E[A-Z]+\)/);
  });

  it('data files that cannot be learned', () => {
    const f = (name: string, text: string) => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const rows = (n: number, v: (i: number) => string) => Array.from({ length: n }, (_, i) => `${i},${v(i)}`).join('\n');
    expectUsage(['train', '--data', f('empty.txt', '')], /the text in '.*empty\.txt': textData: the text is too short \(0 characters\)/);
    expectUsage(['train', '--data', f('short.txt', 'to be or not')], /the text in '.*short\.txt': textData: the text is too short \(12 characters\)/);
    expectUsage(['train', '--arch', 'seq2seq', '--data', f('short2.txt', 'abc')], /the text in '.*short2\.txt' is too short \(3 characters, need 32\)/);
    expectUsage(['train', '--data', f('empty.csv', '')], /'.*empty\.csv': no rows/);
    expectUsage(['train', '--data', f('words.csv', 'a,b\nx,y\nz,w\n')], /'.*words\.csv': no numeric column \(columns: a, b\)/);
    expectUsage(['train', '--data', f('few.csv', 't,v\n' + rows(10, (i) => String(i)))], /'.*few\.csv': column 'v' has 10 numeric rows, need at least 40/);
    expectUsage(['train', '--data', f('huge.csv', 't,v\n' + rows(60, () => '1e308'))], /'.*huge\.csv': column 'v' value 1e\+308 \(numeric row 1\) is outside the float32 range/);
    expectUsage(['train', '--data', f('huge2.csv', 't,v\n' + rows(60, (i) => (i === 30 ? '-4e38' : '1')))], /'.*huge2\.csv': column 'v' value -4e\+38 \(numeric row 31\) is outside the float32 range/);
    const nan = f('nan.csv', 't,v\n' + rows(60, (i) => (i === 5 ? 'NaN' : String(i))));
    expectUsage(['train', '--data', nan, '--column', 'v'], /--column: '.*nan\.csv': row 7, column 'v': "NaN" is not a number/);
    expectUsage(['train', '--data', f('inf.csv', 't,v\n' + rows(60, (i) => (i === 9 ? 'Infinity' : String(i)))), '--column', '1'], /--column: '.*inf\.csv': row 11, column 'v': "Infinity" is not a number/);
    expectUsage(['train', '--data', nan, '--column', 'w'], /--column: '.*nan\.csv': no column named 'w' \(columns: t, v\)/);
    expectUsage(['train', '--data', nan, '--column', '2'], /--column: '.*nan\.csv': column 2 does not exist/);
    expectUsage(['train', '--arch', 'seq2seq', '--data', nan], /--arch seq2seq learns text: give a text file, not a CSV/);
  });

  it('bad checkpoints for sample and --resume: not safetensors, wrong model, crafted metadata, NaN weights', () => {
    const junk = join(dir, 'junk.safetensors');
    writeFileSync(junk, 'this is not a checkpoint');
    const empty = join(dir, 'empty.safetensors');
    writeFileSync(empty, '');
    for (const p of [junk, empty]) {
      expectUsage(['sample', '--checkpoint', p], /'.*\.safetensors' is not a safetensors file: safetensors: /);
      expectUsage(['train', '--resume', p, ...SMALL, '--steps', '1'], /'.*\.safetensors' is not a safetensors file: safetensors: /);
    }
    // Another model: other sizes, or a time-series model where text is wanted.
    expectUsage(['train', '--resume', ckpt, '--hidden', '12', '--batch', '2', '--steps', '1'], /--resume: '.*model\.safetensors' holds a lstm 1 x 8 over \d+ symbols; this run is lstm 1 x 12/);
    expectUsage(['train', '--resume', ckpt, '--arch', 'gru', ...SMALL, '--steps', '1'], /--resume: '.*' holds a lstm 1 x 8 .*; this run is gru 1 x 8/);
    expectUsage(['train', '--resume', csvCkpt, ...SMALL, '--steps', '1'], /--resume: '.*series\.safetensors' holds a lstm 1 x 8 over a time series; this run is lstm 1 x 8 over \d+ symbols/);
    expectUsage(['sample', '--checkpoint', csvCkpt], /'.*series\.safetensors' is a time-series model: sample generates text/);
    // Crafted metadata.
    const meta: [string, Record<string, string | null>, RegExp][] = [
      ['arch', { 'charmodel.arch': 'transformer' }, /metadata 'charmodel\.arch' must be one of lstm, gru, rnn, wavenet, got "transformer"/],
      ['hidden0', { 'charmodel.hidden': '0' }, /metadata 'charmodel\.hidden' must be an integer in \[1, 4096\], got "0"/],
      ['hiddenbig', { 'charmodel.hidden': '99999999999' }, /metadata 'charmodel\.hidden' must be an integer in \[1, 4096\]/],
      ['hiddenlie', { 'charmodel.hidden': '4000' }, /metadata charmodel\.hidden is 4000, but tensor 'rnn\.weight_hh_l0' is \[32,8\]/],
      ['nohidden', { 'charmodel.hidden': null }, /metadata 'charmodel\.hidden' is missing/],
      ['layers', { 'charmodel.layers': '1e3' }, /metadata 'charmodel\.layers' must be an integer in \[1, 16\], got "1e3"/],
      ['vocabjson', { 'charmodel.vocab': '[' }, /metadata 'charmodel\.vocab' is not JSON/],
      ['vocabnums', { 'charmodel.vocab': '[1,2]' }, /metadata 'charmodel\.vocab' must be a JSON array of at most 65536 strings/],
      ['vocabrep', { 'charmodel.vocab': '["a","a"]' }, /metadata 'charmodel\.vocab' has repeated symbols/],
      ['embedding', { 'charmodel.embedding': '-3' }, /metadata 'charmodel\.embedding' must be an integer in \[1, 4096\]/],
      ['mean', { 'charmodel.mean': 'NaN' }, /metadata 'charmodel\.mean' must be a finite number, got "NaN"/],
      ['noarch', { 'charmodel.arch': null }, /has no charmodel\.\* metadata \(not saved by webgpu-rnn train --out\): give --vocab FILE/],
    ];
    for (const [name, edits, msg] of meta) {
      const p = variant(`meta-${name}.safetensors`, (_, m) => {
        for (const [k, v] of Object.entries(edits)) {
          if (v === null) delete m[k];
          else m[k] = v;
        }
      });
      expectUsage(['sample', '--checkpoint', p], msg);
    }
    // The same crafted files through --resume: one line, exit 2 (the message says the file does not fit this run).
    for (const name of ['arch', 'hidden0', 'vocabjson', 'noarch']) {
      expectUsage(['train', '--resume', join(dir, `meta-${name}.safetensors`), ...SMALL, '--steps', '1'], /--resume|metadata|charmodel/);
    }
    // Tensors: a NaN weight, a missing tensor, a transposed weight, an integer dtype, a NaN optimizer moment.
    const nanW = variant('nan-weight.safetensors', (t) => void ((t['head.weight']!.data as Float32Array)[3] = NaN));
    expectUsage(['sample', '--checkpoint', nanW], /'.*nan-weight\.safetensors': tensor 'head\.weight' holds a non-finite value at 3 \(NaN\)/);
    expectUsage(['train', '--resume', nanW, ...SMALL, '--steps', '1'], /--resume: '.*nan-weight\.safetensors': .*head\.weight.*(NaN|finite)/);
    const noHead = variant('no-head.safetensors', (t) => void delete t['head.bias']);
    expectUsage(['sample', '--checkpoint', noHead], /does not fit a lstm 1 x 8 .*head\.bias/);
    expectUsage(['train', '--resume', noHead, ...SMALL, '--steps', '1'], /--resume: '.*no-head\.safetensors': .*head\.bias/);
    const ints = variant('ints.safetensors', (t) => {
      const b = t['head.bias']!;
      t['head.bias'] = { dtype: 'I32', shape: b.shape, data: Int32Array.from(b.data as Float32Array) };
    });
    expectUsage(['sample', '--checkpoint', ints], /tensor 'head\.bias' is I32, expected floating point/);
    const moments = Object.keys(decodeSafetensors(new Uint8Array(readFileSync(ckpt))).tensors).filter((k) => k.startsWith('optimizer.'));
    expect(moments.length).toBeGreaterThan(0);
    const nanM = variant('nan-moment.safetensors', (t) => {
      const k = moments.find((n) => (t[n]!.data as Float32Array).length > 1)!;
      (t[k]!.data as Float32Array)[0] = Infinity;
    });
    expectUsage(['train', '--resume', nanM, ...SMALL, '--steps', '1'], /--resume: '.*nan-moment\.safetensors': .*(finite|Infinity)/);
  });
});

describe('CLI checkpoint fuzzer: mutations of a real train --out file', () => {
  it('sample and train --resume exit 0 or 2, never 1; a refusal is one line', () => {
    const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
    const r = rng(seed);
    const int = (n: number) => Math.floor(r() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
    const file = new Uint8Array(readFileSync(ckpt));
    const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
    const headerText = new TextDecoder().decode(file.subarray(8, 8 + n));
    const data = file.subarray(8 + n);
    const assemble = (h: string, d: Uint8Array, delta = 0) => {
      const hb = new TextEncoder().encode(h);
      const out = new Uint8Array(8 + hb.length + d.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(hb.length + delta), true);
      out.set(hb, 8);
      out.set(d, 8 + hb.length);
      return out;
    };
    const edit = (f: (h: Record<string, Record<string, unknown>>) => void) => {
      const h = JSON.parse(headerText) as Record<string, Record<string, unknown>>;
      f(h);
      return assemble(JSON.stringify(h), data);
    };
    const tensorKey = (h: Record<string, unknown>) => pick(Object.keys(h).filter((k) => k !== '__metadata__'));
    const metaValues = ['', '0', '-1', '1e9', '4097', 'NaN', '[]', '{}', 'null', '"x"', '[1,2]', 'lstm', 'gru', 'x'.repeat(5000), '1'];
    const mutations: [string, () => Uint8Array][] = [
      ['flip a header byte', () => {
        const f = file.slice();
        f[8 + int(n)] ^= 1 << int(8);
        return f;
      }],
      ['flip a data byte', () => {
        const f = file.slice();
        f[8 + n + int(data.length)] ^= 1 << int(8);
        return f;
      }],
      ['truncate', () => file.slice(0, int(file.length))],
      ['header length off', () => assemble(headerText, data, pick([-1, 1, 8, -8, 1000]))],
      ['metadata value', () => edit((h) => {
        const m = h.__metadata__!;
        m[pick(Object.keys(m))] = pick(metaValues);
      })],
      ['metadata key removed', () => edit((h) => {
        const m = h.__metadata__!;
        delete m[pick(Object.keys(m))];
      })],
      ['tensor removed', () => edit((h) => void delete h[tensorKey(h)])],
      ['tensor shape', () => edit((h) => {
        const t = h[tensorKey(h)]!;
        const s = t.shape as number[];
        t.shape = pick([[...s].reverse(), [...s, 1], s.slice(1), [0], [2 ** 40]]);
      })],
      ['tensor dtype', () => edit((h) => void (h[tensorKey(h)]!.dtype = pick(['F64', 'F16', 'I32', 'U8', 'BOOL', 'X'])))],
      ['tensor offsets', () => edit((h) => {
        const t = h[tensorKey(h)]!;
        const o = t.data_offsets as number[];
        t.data_offsets = pick([[o[0]! + 4, o[1]! + 4], [o[1], o[0]], [0, data.length * 2], [-4, o[1]]]);
      })],
      ['non-finite value', () => {
        const h = JSON.parse(headerText) as Record<string, { dtype: string; data_offsets: number[] }>;
        const t = h[tensorKey(h)]!;
        const d = data.slice();
        const at = t.data_offsets[0]! + 4 * int((t.data_offsets[1]! - t.data_offsets[0]!) / 4);
        new DataView(d.buffer).setFloat32(at, pick([NaN, Infinity, -Infinity]), true);
        return assemble(headerText, d);
      }],
    ];
    // Time-bounded: each run starts Node and Dawn (~3 s; an accepted file trains or samples too, ~10 s on a loaded 2-core machine).
    // Every kind of mutation once per run (fresh seeds vary them run to run): 36 took 160 s in CI.
    const budgetMs = 90_000;
    const t0 = performance.now();
    const counts: Record<string, number> = {};
    const failures: string[] = [];
    let done = 0;
    for (let i = 0; i < mutations.length && performance.now() - t0 < budgetMs; i++) {
      const [name, make] = mutations[i % mutations.length]!;
      const path = join(dir, 'fuzz', `m${i}.safetensors`);
      mkdirSync(join(dir, 'fuzz'), { recursive: true });
      writeFileSync(path, make());
      const cmds = [
        ['sample', '--checkpoint', path, '--length', '4'],
        ['train', '--resume', path, ...SMALL, '--steps', '1'],
      ];
      for (const args of cmds) {
        const res = run(...args);
        const key = `${args[0]} exit ${res.status}`;
        counts[key] = (counts[key] ?? 0) + 1;
        const lines = errLines(res.stderr);
        if (res.status !== 0 && res.status !== 2) failures.push(`#${i} ${name}: ${args.join(' ')} exited ${res.status}: ${res.stderr.slice(-300)}`);
        else if (res.status === 2 && lines.length !== 1) failures.push(`#${i} ${name}: ${args[0]} printed ${lines.length} lines: ${lines.join(' | ').slice(0, 300)}`);
      }
      done++;
    }
    console.log(`CLI fuzzer: seed ${seed} (replay: WEBGPU_RNN_SEED=${seed}), ${done} mutations in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify(counts)}`);
    expect(failures, `seed ${seed}`).toEqual([]);
    expect(done).toBeGreaterThanOrEqual(6); // all 12 kinds in ~55 s on a free machine; 6 at least under heavy load
  }, 420_000);
});
