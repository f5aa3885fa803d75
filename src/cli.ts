#!/usr/bin/env node
/**
 * webgpu-rnn: train a character-level model (LSTM, GRU, RNN or WaveNet) on a
 * text (by default the built-in public-domain sonnets), or a next-value model
 * on a CSV time series, and sample from it; `demo` runs the runtime demo (a
 * linear model fitted on the GPU).
 *
 *   webgpu-rnn train [--arch lstm|gru|rnn] [--data FILE] [--steps N] ...
 *   webgpu-rnn sample --checkpoint FILE [--length N] [--temperature T]
 *
 * Bad arguments and unreadable files print one line and exit with code 2.
 */
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { linearRegressionDemo } from './demo.js';
import { loadFile, saveFile } from './io/checkpoint-node.js';
import { decodeSafetensors } from './io/safetensors.js';
import { EncoderDecoder } from './models/seq2seq.js';
import { SequenceToSequence } from './models/sequence.js';
import { mulberry32 } from './nn/init.js';
import { WaveNet } from './nn/wavenet.js';
import { dawnGpu } from './dawn.js';
import { createRuntime, setGpuProvider, type Runtime } from './runtime.js';
import { readCsvColumn } from './train/csv.js';
import { pairedData, seriesData, textData, type TrainData } from './train/data.js';
import { Adam } from './train/optim.js';
import { Trainer, type TrainModel } from './train/trainer.js';

setGpuProvider(dawnGpu);

/** A usage error: one line on stderr, exit code 2. */
class UsageError extends Error {}

/** Flag values: plain decimal integers (no '0x2', '1e3' or ''), within [min, max]. */
const int = (name: string, min: number, max: number) => (v: string) => {
  const n = /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}], got '${v}'`);
  return n;
};
const positive = (name: string, max = Infinity) => (v: string) => {
  const n = /^[0-9.eE+-]+$/.test(v) ? Number(v) : NaN;
  if (!(n > 0) || !Number.isFinite(n) || n > max) throw new InvalidArgumentError(`${name} must be a positive number${max < Infinity ? ` up to ${max}` : ''}, got '${v}'`);
  return n;
};
const MAX_SEED = 2 ** 32 - 1;

async function readText(path: string | undefined): Promise<{ text: string; source: string }> {
  const file = path ?? fileURLToPath(new URL('../data/sonnets.txt', import.meta.url));
  try {
    const bytes = await loadFile(file);
    return { text: new TextDecoder().decode(bytes), source: path ?? 'built-in sonnets (Shakespeare, public domain)' };
  } catch (e) {
    const m = /\(([A-Z]+)\)/.exec((e as Error).message);
    throw new UsageError(`cannot read '${file}' (${m?.[1] ?? (e as Error).message})`);
  }
}

/** --out: the folder must exist and be writable, and the path must not be a folder, before any training. */
async function checkWritable(path: string, flag: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const { dirname, resolve } = await import('node:path');
  const dir = dirname(resolve(path));
  const st = await fs.stat(path).catch(() => null);
  if (st?.isDirectory()) throw new UsageError(`${flag}: '${path}' is a folder, expected a file path`);
  // A file really created there (access(W_OK) passes for root on read-only or virtual file systems).
  const probe = (await import('node:path')).join(dir, `.webgpu-rnn-${process.pid}-${Date.now()}.tmp`);
  try {
    await (await fs.open(probe, 'wx')).close();
    await fs.unlink(probe);
  } catch (e) {
    throw new UsageError(`${flag}: cannot write into '${dir}' (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
}

/** Writes the --out file; a file system refusal (after the checks above) is the user's: exit 2. */
async function writeOut(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await saveFile(path, bytes);
  } catch (e) {
    const m = /\(([A-Z]+)\)/.exec((e as Error).message);
    if (!m) throw e;
    throw new UsageError(`--out: cannot write '${path}' (${m[1]})`);
  }
}

/** What a checkpoint's metadata records to rebuild the model. */
interface ModelConfig {
  arch: 'lstm' | 'gru' | 'rnn' | 'wavenet';
  hidden: number;
  layers: number;
  /** Text models: the symbols; time-series models: empty. */
  vocab: string[];
  /** Text models: the embedding width (default min(64, hidden); the LSTM demo page saves its own). */
  embedding?: number;
  /** Time-series models: the normalisation of the values. */
  mean?: number;
  std?: number;
}

const ARCHS = ['lstm', 'gru', 'rnn', 'wavenet'] as const;
/** Limits of what the CLI builds (and of what a checkpoint's metadata may ask for): checked before anything is allocated. */
const LIMITS = { hidden: 4096, layers: 16, vocab: 65536, embedding: 4096, batch: 4096 };

const isText = (c: ModelConfig) => c.vocab.length > 0;
const describeModel = (a: ModelConfig) => `${a.arch} ${a.layers} x ${a.hidden} over ${isText(a) ? `${a.vocab.length} symbols` : 'a time series'}`;

function buildModel(rt: Runtime, c: ModelConfig, seed: number): { model: TrainModel; wavenet: WaveNet | null; seq: SequenceToSequence | null } {
  const V = isText(c) ? c.vocab.length : 1;
  if (c.arch === 'wavenet') {
    // Dilations 1..16 per stack, `layers` stacks; `hidden` channels. A WaveNet is a Module: it trains as it is.
    const net = new WaveNet(rt, {
      inChannels: V, residualChannels: c.hidden, dilationChannels: c.hidden, skipChannels: c.hidden, outChannels: V,
      dilations: [1, 2, 4, 8, 16], stacks: c.layers, seed,
    });
    return { model: net, wavenet: net, seq: null };
  }
  const seq = new SequenceToSequence(rt, {
    input: isText(c) ? 'embedding' : 'dense',
    inputSize: V,
    embeddingDim: c.embedding ?? Math.min(64, c.hidden),
    cell: c.arch,
    hiddenSize: c.hidden,
    numLayers: c.layers,
    outputSize: V,
    seed,
  });
  return { model: seq, wavenet: null, seq };
}

/**
 * Continues `prime` (symbol ids, or normalised values for a time series) by
 * `length` steps, on the GPU in one submit with one read-back (WaveNet's
 * fast generation, or SequenceToSequence.generate).
 */
async function generateFrom(rt: Runtime, b: ReturnType<typeof buildModel>, c: ModelConfig, prime: number[], length: number, temperature: number, seed: number): Promise<number[]> {
  const text = isText(c);
  if (b.wavenet) {
    const V = text ? c.vocab.length : 1;
    const T0 = prime.length;
    const pre = new Float32Array(V * T0);
    prime.forEach((v, t) => (text ? (pre[v * T0 + t] = 1) : (pre[t] = v)));
    const prefix = rt.tensor(pre, [1, V, T0]);
    const { samples } = b.wavenet.generate(length, { prefix, mode: text ? 'sample' : 'regression', temperature, seed });
    const out = Array.from(await samples.read());
    samples.buffer.destroy();
    prefix.destroy();
    return out;
  }
  // The recurrent models too: every output fed back on the GPU (a token picked, or the value copied).
  return (await b.seq!.generate(length, { prime, temperature, seed }))[0]!;
}

function progressBar(steps: number): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    { format: 'train [{bar}] {value}/{total} steps | loss {loss} | {rate} steps/s', hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 5000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(steps, 0, { loss: '-', rate: '-' });
  return bar;
}

/** Runs `trainer` for `steps` more steps with a progress bar; prints the loss's course. */
async function runTrainer(trainer: Trainer, data: TrainData, steps: number): Promise<void> {
  const start = trainer.step;
  const bar = progressBar(steps);
  const res = await trainer.fit(data, {
    steps,
    onStep: (st) => bar.update(st.step + 1 - start, { loss: st.loss.toFixed(3), rate: st.stepsPerSecond.toFixed(1) }),
  });
  bar.update(res.steps);
  bar.stop();
  const first = res.losses[0]?.loss;
  const last = res.losses[res.losses.length - 1]?.loss;
  if (first !== undefined && last !== undefined) console.log(`loss ${first.toFixed(3)} -> ${last.toFixed(3)} in ${res.steps} steps`);
}

/** Loads `path` into the trainer (--resume), as a usage error when it does not fit. */
async function resume(trainer: Trainer, path: string, cfg: ModelConfig, lrFlag: number | undefined, data: string): Promise<void> {
  const bytes = await readBytes(path, '--resume');
  const { cfg: saved, meta } = readConfig(bytes, path);
  if (describeModel(saved) !== describeModel(cfg) || saved.vocab.join('') !== cfg.vocab.join('')) {
    throw new UsageError(`--resume: '${path}' holds a ${describeModel(saved)}; this run is ${describeModel(cfg)} (same --arch, --hidden, --layers and data)`);
  }
  if (meta['charmodel.data'] !== undefined && meta['charmodel.data'] !== data) {
    throw new UsageError(`--resume: '${path}' was trained on other data (fingerprint ${meta['charmodel.data'].slice(0, 40)}, this --data gives ${data}): resume with the same --data and --column`);
  }
  if (saved.mean !== undefined && (saved.mean !== cfg.mean || saved.std !== cfg.std)) {
    throw new UsageError(`--resume: '${path}' was trained on other data (normalised by mean ${saved.mean}, std ${saved.std}; this data gives ${cfg.mean}, ${cfg.std})`);
  }
  try {
    await trainer.loadCheckpoint(bytes);
  } catch (e) {
    throw new UsageError(`--resume: '${path}': ${oneLine((e as Error).message)}`);
  }
  const fileLr = trainer.optimizer.lr;
  if (lrFlag !== undefined && lrFlag !== fileLr) {
    trainer.optimizer.lr = lrFlag;
    console.log(`resumed from ${path} at step ${trainer.step}; lr ${fileLr} -> ${lrFlag} (--lr)`);
  } else console.log(`resumed from ${path} at step ${trainer.step} (lr ${fileLr})`);
}

/** FNV-1a of the training data, kept in the checkpoint so that --resume can tell other data apart. */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return `${h.toString(16).padStart(8, '0')}:${text.length}`;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*-?\s*/g, '; ').slice(0, 400);

async function readBytes(path: string, flag: string): Promise<Uint8Array> {
  try {
    return await loadFile(path);
  } catch (e) {
    const m = /\(([A-Z]+)\)/.exec((e as Error).message);
    throw new UsageError(`${flag}: cannot read '${path}' (${m?.[1] ?? (e as Error).message})`);
  }
}

async function train(o: Record<string, unknown>, sources: { lr: boolean }): Promise<void> {
  const arch = o.arch as string;
  const dataPath = o.data as string | undefined;
  if (o.out) await checkWritable(o.out as string, '--out');
  if (arch === 'seq2seq') return trainSeq2seq(o);
  const csv = !!dataPath && /\.csv$/i.test(dataPath);
  if (o.column !== undefined && !csv) throw new UsageError('--column: only for a .csv --data file');
  const { text, source } = await readText(dataPath);
  const T = 32;
  const B = o.batch as number;
  const steps = o.steps as number;
  const seed = o.seed as number;
  const layout = arch === 'wavenet' ? 'channels' : 'time';
  let cfg: ModelConfig;
  let data: TrainData;
  let what: string;
  let tail: number[] = [];
  let denorm = (v: number) => v;
  let firstSymbol = 0;
  if (csv) {
    let col;
    try {
      col = readCsvColumn(text, o.column as string | undefined, `'${dataPath}'`);
    } catch (e) {
      throw new UsageError((o.column !== undefined ? '--column: ' : '') + (e as Error).message);
    }
    // Float32 on the GPU: a value past its range (or a mean/std that overflows) would train on infinities.
    const big = col.values.findIndex((v) => !(Math.abs(v) <= 3.4e38));
    if (big >= 0) throw new UsageError(`'${dataPath}': column '${col.name}' value ${col.values[big]} (numeric row ${big + 1}) is outside the float32 range (|v| <= 3.4e38)`);
    if (col.values.length < 40) throw new UsageError(`'${dataPath}': column '${col.name}' has ${col.values.length} numeric rows, need at least 40 for a time series`);
    let s;
    try {
      s = seriesData(col.values, { T, B, seed, layout, stride: 1 }); // overlapping windows: series are short
    } catch (e) {
      throw new UsageError(`'${dataPath}': ${(e as Error).message}`);
    }
    if (!Number.isFinite(s.mean) || !(s.std > 0 && Number.isFinite(s.std)) || !s.values.every(Number.isFinite)) {
      throw new UsageError(`'${dataPath}': column '${col.name}' cannot be normalised (mean ${s.mean}, std ${s.std}): its values are too large or too spread for float32`);
    }
    cfg = { arch: arch as ModelConfig['arch'], hidden: o.hidden as number, layers: o.layers as number, vocab: [], mean: s.mean, std: s.std };
    data = s.train;
    what = `${col.values.length} values (column '${col.name}', normalised)`;
    tail = Array.from(s.values.subarray(s.values.length - T));
    denorm = s.denormalize;
  } else {
    let d;
    try {
      d = textData(text, { T, B, seed, layout, stride: 1 }); // every offset a window, shuffled per epoch
    } catch (e) {
      throw new UsageError(`the text in '${String(dataPath ?? 'the built-in sonnets')}': ${(e as Error).message}`);
    }
    if (d.vocab.length > LIMITS.vocab) throw new UsageError(`the text has ${d.vocab.length} distinct symbols, at most ${LIMITS.vocab}`);
    cfg = { arch: arch as ModelConfig['arch'], hidden: o.hidden as number, layers: o.layers as number, vocab: d.vocab };
    data = d.train;
    what = `${d.ids.length} characters, ${d.vocab.length} symbols`;
    firstSymbol = d.ids[0]!;
  }
  const rt = await createRuntime({ quiet: true });
  const info = rt.adapterInfo;
  console.log(`webgpu-rnn: ${arch.toUpperCase()} (${cfg.layers} x ${cfg.hidden}) on ${source}: ${what}`);
  console.log(`adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}${rt.isCpu ? ' (CPU: expect CPU speeds)' : ''}`);
  const built = buildModel(rt, cfg, seed);
  const optimizer = new Adam(built.model.parameters(), { lr: o.lr as number });
  const trainer = new Trainer(built.model, {
    loss: isText(cfg) ? 'cross_entropy' : 'mse',
    classDim: arch === 'wavenet' ? 1 : 'last',
    optimizer,
    clip: o.clip as number,
    logEvery: Math.max(1, Math.min(20, Math.floor(steps / 10))),
  });
  const dataId = fingerprint(csv ? JSON.stringify(cfg.mean) + JSON.stringify(cfg.std) + String(o.column ?? '') + text : text);
  if (o.resume) await resume(trainer, o.resume as string, cfg, sources.lr ? (o.lr as number) : undefined, dataId);
  await runTrainer(trainer, data, steps);
  if (o.out) {
    const metadata: Record<string, string> = {
      'charmodel.arch': cfg.arch,
      'charmodel.hidden': String(cfg.hidden),
      'charmodel.layers': String(cfg.layers),
      'charmodel.vocab': JSON.stringify(cfg.vocab),
      'charmodel.data': dataId,
    };
    if (isText(cfg)) metadata['charmodel.embedding'] = String(cfg.embedding ?? Math.min(64, cfg.hidden));
    if (!isText(cfg)) Object.assign(metadata, { 'charmodel.mean': String(cfg.mean), 'charmodel.std': String(cfg.std) });
    await writeOut(o.out as string, await trainer.saveCheckpoint({ metadata }));
    console.log(`saved ${String(o.out)}`);
  }
  if (o.profile) {
    // One more training step (after --out is saved), timed per kernel on the GPU.
    const profile = await rt.profile(() => trainer.fit(data, { steps: 1 }));
    console.log(`--- profile of one training step (top kernels) ---\n${profile.toString(10)}`);
  }
  if (isText(cfg)) {
    console.log('--- sample ---');
    const gen = await generateFrom(rt, built, cfg, [firstSymbol], 200, 0.8, seed);
    console.log(cfg.vocab[firstSymbol]! + gen.map((i) => cfg.vocab[i]).join(''));
  } else {
    const gen = await generateFrom(rt, built, cfg, tail, 12, 1, seed);
    console.log(`forecast (next 12): ${gen.map((v) => denorm(v).toPrecision(4)).join(', ')}`);
  }
  trainer.destroy();
  optimizer.destroy();
  built.model.destroy();
  rt.destroy();
}

/**
 * --arch seq2seq: an encoder-decoder (LSTM) learns to write short stretches of
 * the text backwards (source: 4..8 characters; target: the same, reversed,
 * then a stop token), with teacher forcing; it ends by decoding held-out
 * stretches greedily.
 */
async function trainSeq2seq(o: Record<string, unknown>): Promise<void> {
  const dataPath = o.data as string | undefined;
  if (dataPath && /\.csv$/i.test(dataPath)) throw new UsageError('--arch seq2seq learns text: give a text file, not a CSV');
  if (o.resume) throw new UsageError('--resume: not supported with --arch seq2seq');
  const { text, source } = await readText(dataPath);
  const vocab = [...new Set(text)].sort();
  const V = vocab.length;
  if (V > LIMITS.vocab) throw new UsageError(`the text has ${V} distinct symbols, at most ${LIMITS.vocab}`);
  const START = V;
  const STOP = V + 1;
  const [L, B, steps, seed] = [8, o.batch as number, o.steps as number, o.seed as number];
  const ids = Array.from(text, (ch) => vocab.indexOf(ch));
  if (ids.length < 4 * L) throw new UsageError(`the text in '${String(dataPath)}' is too short (${ids.length} characters, need ${4 * L})`);
  // Stretches of 4..8 characters at seeded places: a fixed pool, so batches are a function of the step.
  const rand = mulberry32(seed);
  const pick = (): number[] => {
    const n = 4 + Math.floor(rand() * (L - 3));
    const at = Math.floor(rand() * (ids.length - n));
    return ids.slice(at, at + n);
  };
  const pairs = Array.from({ length: Math.max(64 * B, 512) }, () => {
    const w = pick();
    return [w, [...w].reverse()] as const;
  });
  const rt = await createRuntime({ quiet: true });
  console.log(`webgpu-rnn: SEQ2SEQ (LSTM encoder-decoder, ${o.hidden} hidden) reversing stretches of ${source}`);
  const model = new EncoderDecoder(rt, { srcVocab: V, tgtVocab: V + 2, embeddingDim: Math.min(64, o.hidden as number), hiddenSize: o.hidden as number, cell: 'lstm', seed });
  const optimizer = new Adam(model.parameters(), { lr: o.lr as number });
  const trainer = new Trainer(model, { loss: 'cross_entropy', ignoreIndex: -1, optimizer, clip: o.clip as number, logEvery: Math.max(1, Math.min(20, Math.floor(steps / 10))) });
  const data = pairedData(pairs, { B, srcVocab: V, tgtVocab: V + 2, startToken: START, stopToken: STOP, seed });
  await runTrainer(trainer, data, steps);
  if (o.out) {
    await writeOut(o.out as string, await trainer.saveCheckpoint({ metadata: { 'seq2seq.vocab': JSON.stringify(vocab) } }));
    console.log(`saved ${String(o.out)}`);
  }
  // Held-out: decode a batch of new stretches greedily.
  const s = new Float32Array(L * B);
  const words: number[][] = [];
  const lens = new Array<number>(B);
  for (let b = 0; b < B; b++) {
    const w = pick();
    words.push(w);
    lens[b] = w.length;
    for (let t = 0; t < L; t++) s[t * B + b] = t < w.length ? w[t]! : 0;
  }
  const src = rt.tensor(s, [L, B]);
  const out = await model.greedyDecode(src, { maxLength: L + 1, startToken: START, stopToken: STOP, srcLengths: lens });
  let exact = 0;
  words.forEach((w, b) => {
    const want = [...w].reverse();
    if (out[b]!.length === want.length && out[b]!.every((v, i) => v === want[i])) exact++;
  });
  const show = (a: number[]) => JSON.stringify(a.map((i) => vocab[i] ?? '?').join(''));
  for (let b = 0; b < Math.min(4, B); b++) console.log(`${show(words[b]!)} -> ${show(out[b]!)}`);
  console.log(`held-out exact reversals: ${exact}/${B}`);
  src.destroy();
  trainer.destroy();
  optimizer.destroy();
  model.destroy();
  rt.destroy();
}

/**
 * The model a checkpoint holds: its `charmodel.*` metadata (validated and
 * bounded before anything is allocated), or `vocab` given separately for a
 * plain state dict (PyTorch's names, no metadata of ours: the architecture is
 * read from the tensors' names and shapes).
 */
function readConfig(bytes: Uint8Array, path: string, vocabFlag?: string[]): { cfg: ModelConfig; meta: Record<string, string>; tensors: Record<string, { shape: number[]; data: Float32Array }> } {
  let dec;
  try {
    dec = decodeSafetensors(bytes);
  } catch (e) {
    throw new UsageError(`'${path}' is not a safetensors file: ${oneLine((e as Error).message)}`);
  }
  const m = dec.metadata;
  // The model's parameters (the optimizer's state and RNG counters are for --resume).
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of Object.entries(dec.tensors)) {
    if (k.startsWith('optimizer.') || k.startsWith('rng.')) continue;
    if (v.dtype !== 'F32' && v.dtype !== 'F64' && v.dtype !== 'F16' && v.dtype !== 'BF16') throw new UsageError(`'${path}': tensor '${k}' is ${v.dtype}, expected floating point`);
    tensors[k] = { shape: [...v.shape], data: Float32Array.from(v.data as ArrayLike<number>) };
  }
  const bad = (key: string, why: string): never => {
    throw new UsageError(`'${path}': metadata '${key}' ${why}`);
  };
  const intMeta = (key: string, max: number): number => {
    const s = m[key];
    if (s === undefined) return bad(key, 'is missing');
    const n = /^\d{1,9}$/.test(s) ? Number(s) : NaN;
    if (!(n >= 1 && n <= max)) bad(key, `must be an integer in [1, ${max}], got ${JSON.stringify(s.slice(0, 40))}`);
    return n;
  };
  if (m['charmodel.arch'] === undefined) {
    if (!vocabFlag) throw new UsageError(`'${path}' has no charmodel.* metadata (not saved by webgpu-rnn train --out): give --vocab FILE (the symbols, in id order) to sample from a plain state dict`);
    return { cfg: inferConfig(tensors, path, vocabFlag), meta: m, tensors };
  }
  const arch = m['charmodel.arch'];
  if (!(ARCHS as readonly string[]).includes(arch)) bad('charmodel.arch', `must be one of ${ARCHS.join(', ')}, got ${JSON.stringify(arch.slice(0, 40))}`);
  let vocab: unknown;
  try {
    vocab = JSON.parse(m['charmodel.vocab'] ?? '[]');
  } catch {
    bad('charmodel.vocab', 'is not JSON');
  }
  if (!Array.isArray(vocab) || vocab.length > LIMITS.vocab || !vocab.every((c) => typeof c === 'string')) bad('charmodel.vocab', `must be a JSON array of at most ${LIMITS.vocab} strings`);
  const v = vocab as string[];
  if (new Set(v).size !== v.length) bad('charmodel.vocab', 'has repeated symbols');
  const cfg: ModelConfig = { arch: arch as ModelConfig['arch'], hidden: intMeta('charmodel.hidden', LIMITS.hidden), layers: intMeta('charmodel.layers', LIMITS.layers), vocab: vocabFlag ?? v };
  if (m['charmodel.embedding'] !== undefined) cfg.embedding = intMeta('charmodel.embedding', LIMITS.embedding);
  if (m['charmodel.mean'] !== undefined || m['charmodel.std'] !== undefined) {
    const mean = Number(m['charmodel.mean']);
    const std = Number(m['charmodel.std']);
    if (!Number.isFinite(mean)) bad('charmodel.mean', `must be a finite number, got ${JSON.stringify(String(m['charmodel.mean']).slice(0, 40))}`);
    if (!(Number.isFinite(std) && std > 0)) bad('charmodel.std', `must be a finite number > 0, got ${JSON.stringify(String(m['charmodel.std']).slice(0, 40))}`);
    cfg.mean = mean;
    cfg.std = std;
  }
  return { cfg, meta: m, tensors };
}

/** A plain torch state dict (embedding.*, rnn.*, head.* as SequenceToSequence names them): its config from the shapes. */
function inferConfig(t: Record<string, { shape: number[] }>, path: string, vocab: string[]): ModelConfig {
  const w = t['rnn.weight_ih_l0']?.shape;
  const hh = t['rnn.weight_hh_l0']?.shape;
  const emb = t['embedding.weight']?.shape;
  if (!w || !hh || !emb) {
    const keys = Object.keys(t);
    throw new UsageError(`'${path}': expected the keys embedding.weight, rnn.weight_ih_l0, rnn.weight_hh_l0, head.weight (a char model's state dict), got ${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', ...' : ''}`);
  }
  const H = hh[1]!;
  const G = hh[0]! / H;
  const arch = G === 4 ? 'lstm' : G === 3 ? 'gru' : G === 1 ? 'rnn' : null;
  if (!arch || H > LIMITS.hidden) throw new UsageError(`'${path}': rnn.weight_hh_l0 ${JSON.stringify(hh)} is not an LSTM, GRU or RNN weight of hidden size <= ${LIMITS.hidden}`);
  let layers = 0;
  while (t[`rnn.weight_hh_l${layers}`]) layers++;
  if (emb[0] !== vocab.length) throw new UsageError(`--vocab: ${vocab.length} symbols, but '${path}' embeds ${emb[0]}`);
  return { arch, hidden: H, layers: Math.min(layers, LIMITS.layers), vocab, embedding: emb[1] };
}

async function sample(o: Record<string, unknown>): Promise<void> {
  const path = o.checkpoint as string;
  const bytes = await readBytes(path, '--checkpoint');
  let vocabFlag: string[] | undefined;
  if (o.vocab !== undefined) {
    const text = new TextDecoder().decode(await readBytes(o.vocab as string, '--vocab'));
    const parsed = text.trim().startsWith('[') ? (() => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return null;
      }
    })() : [...text.replace(/\n$/, '')];
    if (!Array.isArray(parsed) || !parsed.length || !parsed.every((c) => typeof c === 'string') || new Set(parsed).size !== parsed.length) {
      throw new UsageError(`--vocab: '${String(o.vocab)}' must hold the symbols in id order: a JSON array of distinct strings, or the characters themselves`);
    }
    vocabFlag = parsed as string[];
  }
  const { cfg, tensors } = readConfig(bytes, path, vocabFlag);
  if (!isText(cfg)) throw new UsageError(`'${path}' is a time-series model: sample generates text (train prints its forecast)`);
  const prime = (o.prime as string | undefined) ?? cfg.vocab.find((c) => /[A-Z]/.test(c)) ?? cfg.vocab[0]!;
  if (prime === '') throw new UsageError('--prime: give at least one character');
  for (const ch of prime) if (!cfg.vocab.includes(ch)) throw new UsageError(`--prime: ${JSON.stringify(ch)} is not in the model's vocabulary`);
  for (const [k, t] of Object.entries(tensors)) {
    const bad = t.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new UsageError(`'${path}': tensor '${k}' holds a non-finite value at ${bad} (${t.data[bad]}): the model diverged or the file is damaged`);
  }
  // The metadata's sizes must agree with the tensors' before anything is allocated (a crafted
  // `charmodel.hidden` must not build a large model only to refuse it).
  const probe = cfg.arch === 'wavenet' ? ['input.weight', 0] : ['rnn.weight_hh_l0', 1];
  const got = tensors[probe[0] as string]?.shape[probe[1] as number];
  if (got !== cfg.hidden) throw new UsageError(`'${path}': metadata charmodel.hidden is ${cfg.hidden}, but tensor '${probe[0]}' is ${JSON.stringify(tensors[probe[0] as string]?.shape ?? 'missing')}`);
  const rt = await createRuntime({ quiet: true });
  const built = buildModel(rt, cfg, 0);
  try {
    built.model.loadStateDict(tensors);
  } catch (e) {
    built.model.destroy();
    rt.destroy();
    throw new UsageError(`'${path}' does not fit a ${describeModel(cfg)}: ${oneLine((e as Error).message)}`);
  }
  const gen = await generateFrom(rt, built, cfg, Array.from(prime, (ch) => cfg.vocab.indexOf(ch)), o.length as number, o.temperature as number, o.seed as number);
  console.log(prime + gen.map((i) => cfg.vocab[i]).join(''));
  built.model.destroy();
  rt.destroy();
}

async function demo(): Promise<void> {
  const rt = await createRuntime();
  const res = await linearRegressionDemo(rt, { log: (s) => console.log(s) });
  const first = res.losses[0]!.loss;
  const last = res.losses[res.losses.length - 1]!.loss;
  console.log(`linear regression, 512x32 -> 8: loss ${first.toExponential(3)} -> ${last.toExponential(3)}; ${res.dispatchesPerStep} dispatches and ${res.submitsPerStep} submit per step`);
  rt.destroy();
}

function program(): Command {
  const p = new Command('webgpu-rnn')
    .description('Train recurrent networks on WebGPU (Dawn in Node; SwiftShader when there is no GPU)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showSuggestionAfterError(false);
  p.command('train', { isDefault: true })
    .description('train a character-level model on a text (default: the built-in sonnets), then print a sample')
    .addOption(new Option('--arch <arch>', 'cell').choices(['lstm', 'gru', 'rnn', 'wavenet', 'seq2seq']).default('lstm'))
    .option('--data <file>', 'a UTF-8 text file, or a .csv time series')
    .option('--column <name|index>', 'the CSV column to learn (default: the last numeric column)')
    .option('--steps <n>', 'training steps (with --resume: steps more, after the checkpoint\'s)', int('--steps', 1, 1e9), 300)
    .option('--batch <n>', 'sequences per batch', int('--batch', 1, LIMITS.batch), 16)
    .option('--hidden <n>', 'hidden size', int('--hidden', 1, LIMITS.hidden), 128)
    .option('--layers <n>', 'stacked layers', int('--layers', 1, LIMITS.layers), 1)
    .option('--lr <rate>', 'learning rate (Adam); with --resume it replaces the checkpoint\'s', positive('--lr', 10), 0.003)
    .option('--clip <norm>', 'clip gradients to this global norm', positive('--clip'), 5)
    .option('--seed <n>', 'seed of the initialisation and the batches', int('--seed', 0, MAX_SEED), 1)
    .option('--out <file>', 'save a checkpoint (safetensors: parameters under PyTorch names, optimizer state, step); written atomically')
    .option('--resume <file>', 'continue from a checkpoint of the same model and data (parameters, optimizer state, step, batch stream)')
    .option('--profile', 'after training (and --out), profile one more step: GPU time per kernel (timestamp queries), the top kernels')
    .action(async (opts, cmd: Command) => train(opts, { lr: cmd.getOptionValueSource('lr') === 'cli' }));
  p.command('sample')
    .description('generate text from a saved model')
    .requiredOption('--checkpoint <file>', 'a model saved by train --out, or a plain state dict with --vocab')
    .option('--vocab <file>', 'the symbols in id order (a JSON array, or the characters): for a state dict without our metadata')
    .option('--length <n>', 'characters to generate', int('--length', 1, 1e6), 300)
    .option('--temperature <t>', 'softmax temperature', positive('--temperature', 1e3), 0.8)
    .option('--prime <text>', 'text to start from')
    .option('--seed <n>', 'seed of the sampling', int('--seed', 0, MAX_SEED), 1)
    .action(async (opts) => sample(opts));
  p.command('demo').description('the runtime demo: a linear model fitted on the GPU').action(demo);
  return p;
}

program()
  .parseAsync(process.argv)
  .then(
    () => process.exit(0),
    (e: unknown) => {
      const err = e as { code?: string; exitCode?: number; message?: string };
      if (err?.code === 'commander.helpDisplayed' || err?.code === 'commander.help' || err?.code === 'commander.version') process.exit(0);
      if (err?.code?.startsWith('commander.')) process.exit(2); // commander printed its one line already
      if (e instanceof UsageError) {
        console.error(`webgpu-rnn: ${e.message}`);
        process.exit(2);
      }
      console.error(`webgpu-rnn: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
