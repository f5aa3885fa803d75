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
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { linearRegressionDemo } from './demo.js';
import { decodeSafetensors, toFloat32 } from './io/safetensors.js';
import { EncoderDecoder } from './models/seq2seq.js';
import { SequenceToSequence } from './models/sequence.js';
import { WaveNet } from './nn/wavenet.js';
import { mulberry32 } from './nn/init.js';
import { dawnGpu } from './dawn.js';
import { createRuntime, setGpuProvider, type Runtime } from './runtime.js';
import { loadCheckpoint, saveCheckpoint } from './train/checkpoint.js';
import { fit, type Trainable, type TrainData } from './train/fit.js';
import { CrossEntropyLoss } from './train/loss.js';
import { Adam, clipGradNorm } from './train/optim.js';

setGpuProvider(dawnGpu);

/** A usage error: one line on stderr, exit code 2. */
class UsageError extends Error {}

const int = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got '${v}'`);
  return n;
};
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number, got '${v}'`);
  return n;
};

async function readText(path: string | undefined): Promise<{ text: string; source: string }> {
  const fs = await import('node:fs/promises');
  const url = new URL('../data/sonnets.txt', import.meta.url);
  const file = path ?? url;
  try {
    return { text: await fs.readFile(file, 'utf8'), source: path ?? 'built-in sonnets (Shakespeare, public domain)' };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new UsageError(`cannot read '${String(path ?? url.pathname)}' (${code})`);
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

/** A model `fit` can train, whatever its architecture, and how to sample from it. */
interface Built {
  model: Trainable & { destroy(): void; modules: Record<string, { params: import('./tensor.js').Arena; gradients: import('./tensor.js').Arena; stateDict(): Promise<Record<string, Float32Array>>; loadStateDict(d: Record<string, Float32Array>): void }> };
  wavenet: WaveNet | null;
  seq: SequenceToSequence | null;
}

const isText = (c: ModelConfig) => c.vocab.length > 0;

function buildModel(rt: Runtime, c: ModelConfig, seed: number): Built {
  const V = isText(c) ? c.vocab.length : 1;
  if (c.arch === 'wavenet') {
    // Dilations 1..2^(hidden layers per stack), `layers` stacks; `hidden` channels.
    const net = new WaveNet(rt, {
      inChannels: V, residualChannels: c.hidden, dilationChannels: c.hidden, skipChannels: c.hidden, outChannels: V,
      dilations: [1, 2, 4, 8, 16], stacks: c.layers, seed,
    });
    const model = {
      rt,
      modules: { wavenet: net },
      zeroGrad: () => net.zeroGrad(),
      forward: (x: import('./tensor.js').Tensor) => ({ logits: net.forward(x).output }),
      backward: (d: import('./tensor.js').Tensor) => void net.backward(d),
      destroy: () => net.destroy(),
    };
    return { model: model as unknown as Built['model'], wavenet: net, seq: null };
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
  return { model: seq as unknown as Built['model'], wavenet: null, seq };
}

/**
 * Continues `prime` (symbol ids, or normalised values for a time series) by
 * `length` steps, on the GPU in one submit with one read-back (WaveNet's
 * fast generation, or SequenceToSequence.generate).
 */
async function generateFrom(rt: Runtime, b: Built, c: ModelConfig, prime: number[], length: number, temperature: number, seed: number): Promise<number[]> {
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

/** The first numeric column of a CSV file (a header line is skipped). */
function parseCsv(text: string, path: string): number[] {
  const values: number[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const v = Number(line.split(',').map((f) => f.trim()).find((f) => f !== '' && Number.isFinite(Number(f))));
    if (Number.isFinite(v)) values.push(v);
  }
  if (values.length < 40) throw new UsageError(`'${path}': found ${values.length} numeric rows, need at least 40 for a time series`);
  return values;
}

async function train(o: Record<string, unknown>): Promise<void> {
  const arch = o.arch as string;
  const dataPath = o.data as string | undefined;
  if (arch === 'seq2seq') return trainSeq2seq(o);
  const { text, source } = await readText(dataPath);
  const csv = !!dataPath && /\.csv$/i.test(dataPath);
  const T = 32;
  const B = o.batch as number;
  const steps = o.steps as number;
  const seed = o.seed as number;
  let cfg: ModelConfig;
  let series: Float32Array;
  if (csv) {
    const raw = parseCsv(text, dataPath!);
    const mean = raw.reduce((a, b) => a + b, 0) / raw.length;
    const std = Math.sqrt(raw.reduce((a, b) => a + (b - mean) ** 2, 0) / raw.length) || 1;
    series = Float32Array.from(raw, (v) => (v - mean) / std);
    cfg = { arch: arch as ModelConfig['arch'], hidden: o.hidden as number, layers: o.layers as number, vocab: [], mean, std };
  } else {
    if (text.length < 64) throw new UsageError(`the text in '${String(dataPath)}' is too short (${text.length} characters, need 64)`);
    const vocab = [...new Set(text)].sort();
    series = Float32Array.from(text, (ch) => vocab.indexOf(ch));
    cfg = { arch: arch as ModelConfig['arch'], hidden: o.hidden as number, layers: o.layers as number, vocab };
  }
  const rt = await createRuntime({ quiet: true });
  const info = rt.adapterInfo;
  const what = csv ? `${series.length} values (first numeric column, normalised)` : `${series.length} characters, ${cfg.vocab.length} symbols`;
  console.log(`webgpu-rnn: ${arch.toUpperCase()} (${cfg.layers} x ${cfg.hidden}) on ${source}: ${what}`);
  console.log(`adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}${rt.isCpu ? ' (CPU: expect CPU speeds)' : ''}`);
  const built = buildModel(rt, cfg, seed);
  const modules = Object.values(built.model.modules);
  const optimizers = modules.map((m) => new Adam(rt, m.params, m.gradients, { lr: o.lr as number }));
  let startStep = 0;
  if (o.resume) {
    const fs = await import('node:fs/promises');
    const path = o.resume as string;
    const bytes = await fs.readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read '${path}' (${e.code ?? e})`);
    });
    const saved = readConfig(new Uint8Array(bytes), path).cfg;
    const same = (a: ModelConfig) => `${a.arch} ${a.layers} x ${a.hidden} over ${isText(a) ? `${a.vocab.length} symbols` : 'a time series'}`;
    if (same(saved) !== same(cfg) || saved.vocab.join('') !== cfg.vocab.join('')) {
      throw new UsageError(`--resume: '${path}' holds a ${same(saved)}; this run is ${same(cfg)}`);
    }
    try {
      startStep = (await loadCheckpoint(new Uint8Array(bytes), built.model, optimizers)).step;
    } catch (e) {
      throw new UsageError(`--resume: ${(e as Error).message}`);
    }
    console.log(`resumed from ${path} at step ${startStep}`);
  }
  // Windows of T + 1 consecutive items; the batch stream continues where a resumed run left off.
  const rand = mulberry32(seed);
  for (let i = 0; i < startStep * B; i++) rand();
  const V = isText(cfg) ? cfg.vocab.length : 1;
  const wavenet = cfg.arch === 'wavenet';
  const data: TrainData = {
    // Recurrent: [T, B] ids or [T, B, 1] values; WaveNet: [B, C, T] (one-hot or values).
    xShape: wavenet ? [B, V, T] : isText(cfg) ? [T, B] : [T, B, 1],
    yShape: wavenet ? (isText(cfg) ? [B * T] : [B, 1, T]) : isText(cfg) ? [T * B] : [T, B, 1],
    batch(_step, x, y) {
      if (wavenet) x.fill(0);
      for (let b = 0; b < B; b++) {
        const s = Math.floor(rand() * (series.length - T - 1));
        for (let t = 0; t < T; t++) {
          const cur = series[s + t]!;
          const nxt = series[s + t + 1]!;
          if (wavenet) {
            if (isText(cfg)) x[(b * V + cur) * T + t] = 1;
            else x[b * T + t] = cur;
            y[b * T + t] = nxt;
          } else {
            x[t * B + b] = cur;
            y[t * B + b] = nxt;
          }
        }
      }
    },
  };
  const bar = new cliProgress.SingleBar(
    { format: 'train [{bar}] {value}/{total} steps | loss {loss} | {rate} steps/s', hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 5000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(steps, 0, { loss: '-', rate: '-' });
  const res = await fit(built.model, data, {
    steps,
    loss: isText(cfg) ? 'cross_entropy' : 'mse',
    classDim: wavenet ? 1 : 'last',
    optimizer: optimizers,
    clip: o.clip as number,
    logEvery: Math.max(1, Math.min(20, Math.floor(steps / 10))),
    onStep: (st) => bar.update(st.step + 1, { loss: st.loss.toFixed(3), rate: st.stepsPerSecond.toFixed(1) }),
  });
  bar.update(res.steps);
  bar.stop();
  const first = res.losses[0]?.loss;
  const last = res.losses[res.losses.length - 1]?.loss;
  if (first !== undefined && last !== undefined) console.log(`loss ${first.toFixed(3)} -> ${last.toFixed(3)} in ${res.steps} steps`);
  if (o.out) {
    const fs = await import('node:fs/promises');
    const metadata: Record<string, string> = {
      'charmodel.arch': cfg.arch,
      'charmodel.hidden': String(cfg.hidden),
      'charmodel.layers': String(cfg.layers),
      'charmodel.vocab': JSON.stringify(cfg.vocab),
    };
    if (isText(cfg)) metadata['charmodel.embedding'] = String(cfg.embedding ?? Math.min(64, cfg.hidden));
    if (!isText(cfg)) Object.assign(metadata, { 'charmodel.mean': String(cfg.mean), 'charmodel.std': String(cfg.std) });
    await fs.writeFile(o.out as string, await saveCheckpoint(built.model, optimizers, { step: startStep + res.steps, metadata }));
    console.log(`saved ${String(o.out)}`);
  }
  if (isText(cfg)) {
    console.log('--- sample ---');
    const gen = await generateFrom(rt, built, cfg, [series[0]!], 200, 0.8, seed);
    console.log(text[0] + gen.map((i) => cfg.vocab[i]).join(''));
  } else {
    const tail = Array.from(series.subarray(series.length - T));
    const gen = await generateFrom(rt, built, cfg, tail, 12, 1, seed);
    console.log(`forecast (next 12): ${gen.map((v) => (v * cfg.std! + cfg.mean!).toPrecision(4)).join(', ')}`);
  }
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
  const { text, source } = await readText(dataPath);
  const vocab = [...new Set(text)].sort();
  const V = vocab.length;
  const START = V;
  const STOP = V + 1;
  const [L, B, steps, seed] = [8, o.batch as number, o.steps as number, o.seed as number];
  const rt = await createRuntime({ quiet: true });
  console.log(`webgpu-rnn: SEQ2SEQ (LSTM encoder-decoder, ${o.hidden} hidden) reversing stretches of ${source}`);
  const model = new EncoderDecoder(rt, { srcVocab: V, tgtVocab: V + 2, embeddingDim: Math.min(64, o.hidden as number), hiddenSize: o.hidden as number, cell: 'lstm', seed });
  const optimizers = Object.values(model.modules).map((m) => new Adam(rt, m.params, m.gradients, { lr: o.lr as number }));
  const ce = new CrossEntropyLoss(rt, { ignoreIndex: -1 });
  const src = rt.zeros([L, B]);
  const tgtIn = rt.zeros([L + 1, B]);
  const tgtOut = rt.zeros([(L + 1) * B]);
  const rand = mulberry32(seed);
  const ids = Array.from(text, (ch) => vocab.indexOf(ch));
  const pick = (): number[] => {
    const n = 4 + Math.floor(rand() * (L - 3));
    const at = Math.floor(rand() * (ids.length - n));
    return ids.slice(at, at + n);
  };
  const bar = new cliProgress.SingleBar(
    { format: 'train [{bar}] {value}/{total} steps | loss {loss}', hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 5000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(steps, 0, { loss: '-' });
  const lens = new Array<number>(B);
  const reads: Promise<void>[] = [];
  let last = NaN;
  let first = NaN;
  for (let step = 0; step < steps; step++) {
    const s = new Float32Array(L * B);
    const ti = new Float32Array((L + 1) * B);
    const to = new Float32Array((L + 1) * B).fill(-1); // -1: ignored (padding)
    for (let b = 0; b < B; b++) {
      const w = pick();
      lens[b] = w.length;
      const r = [...w].reverse();
      for (let t = 0; t < L; t++) s[t * B + b] = t < w.length ? w[t]! : 0;
      ti[b] = START;
      for (let t = 0; t < r.length; t++) {
        ti[(t + 1) * B + b] = r[t]!;
        to[t * B + b] = r[t]!;
      }
      to[r.length * B + b] = STOP;
    }
    src.write(s);
    tgtIn.write(ti);
    tgtOut.write(to);
    const st = step;
    rt.step(() => {
      model.zeroGrad();
      const { logits } = model.forward(src, tgtIn, { srcLengths: lens });
      const l = ce.forward(logits.reshape([(L + 1) * B, V + 2]), tgtOut);
      model.backward(l.grad.reshape([L + 1, B, V + 2]));
      clipGradNorm(rt, Object.values(model.modules).map((m) => m.gradients), o.clip as number);
      for (const opt of optimizers) opt.step();
      if (st % 20 === 0 || st === steps - 1) {
        reads.push(
          l.loss.read().then((v) => {
            if (st === 0) first = v[0]!;
            last = v[0]!;
            bar.update(st + 1, { loss: v[0]!.toFixed(3) });
          }),
        );
      }
    });
  }
  await Promise.all(reads);
  bar.update(steps);
  bar.stop();
  console.log(`loss ${first.toFixed(3)} -> ${last.toFixed(3)} in ${steps} steps`);
  // Held-out: decode a batch of new stretches greedily.
  const s = new Float32Array(L * B);
  const words: number[][] = [];
  for (let b = 0; b < B; b++) {
    const w = pick();
    words.push(w);
    lens[b] = w.length;
    for (let t = 0; t < L; t++) s[t * B + b] = t < w.length ? w[t]! : 0;
  }
  src.write(s);
  const out = await model.greedyDecode(src, { maxLength: L + 1, startToken: START, stopToken: STOP, srcLengths: lens });
  let exact = 0;
  words.forEach((w, b) => {
    const want = [...w].reverse();
    if (out[b]!.length === want.length && out[b]!.every((v, i) => v === want[i])) exact++;
  });
  const show = (a: number[]) => JSON.stringify(a.map((i) => vocab[i] ?? '?').join(''));
  for (let b = 0; b < Math.min(4, B); b++) console.log(`${show(words[b]!)} -> ${show(out[b]!)}`);
  console.log(`held-out exact reversals: ${exact}/${B}`);
  ce.destroy();
  model.destroy();
  rt.destroy();
}

function readConfig(bytes: Uint8Array, path: string): { cfg: ModelConfig; tensors: Record<string, Float32Array> } {
  let dec;
  try {
    dec = decodeSafetensors(bytes);
  } catch (e) {
    throw new UsageError(`'${path}' is not a checkpoint: ${(e as Error).message}`);
  }
  const m = dec.metadata;
  if (!m['charmodel.arch']) throw new UsageError(`'${path}' is not a model saved by webgpu-rnn train --out`);
  const cfg: ModelConfig = {
    arch: m['charmodel.arch'] as ModelConfig['arch'],
    hidden: Number(m['charmodel.hidden']),
    layers: Number(m['charmodel.layers']),
    vocab: JSON.parse(m['charmodel.vocab'] ?? '[]') as string[],
  };
  if (m['charmodel.embedding'] !== undefined) cfg.embedding = Number(m['charmodel.embedding']);
  if (m['charmodel.mean'] !== undefined) {
    cfg.mean = Number(m['charmodel.mean']);
    cfg.std = Number(m['charmodel.std']);
  }
  // The model's parameters (the optimizer's state and RNG counters are for --resume).
  const tensors = Object.fromEntries(
    Object.entries(dec.tensors)
      .filter(([k]) => !k.startsWith('optimizer.') && !k.startsWith('rng.'))
      .map(([k, v]) => [k, toFloat32(v)]),
  );
  return { cfg, tensors };
}

async function sample(o: Record<string, unknown>): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = o.checkpoint as string;
  const bytes = await fs.readFile(path).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read '${path}' (${e.code ?? e})`);
  });
  const { cfg, tensors } = readConfig(new Uint8Array(bytes), path);
  if (!isText(cfg)) throw new UsageError(`'${path}' is a time-series model: sample generates text (train prints its forecast)`);
  const rt = await createRuntime({ quiet: true });
  const built = buildModel(rt, cfg, 0);
  for (const [prefix, m] of Object.entries(built.model.modules)) {
    const sub: Record<string, Float32Array> = {};
    const pre = built.wavenet ? '' : `${prefix}.`;
    for (const [k, v] of Object.entries(tensors)) if (built.wavenet || k.startsWith(pre)) sub[built.wavenet ? k.replace(/^wavenet\./, '') : k.slice(pre.length)] = v;
    m.loadStateDict(sub);
  }
  const prime = (o.prime as string | undefined) ?? cfg.vocab.find((c) => /[A-Z]/.test(c)) ?? cfg.vocab[0]!;
  for (const ch of prime) if (!cfg.vocab.includes(ch)) throw new UsageError(`--prime: '${ch}' is not in the model's vocabulary`);
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
    .option('--data <file>', 'a UTF-8 text file, or a .csv time series (its first numeric column)')
    .option('--steps <n>', 'training steps', int('--steps', 1), 300)
    .option('--batch <n>', 'sequences per batch', int('--batch', 1), 16)
    .option('--hidden <n>', 'hidden size', int('--hidden', 1), 128)
    .option('--layers <n>', 'stacked layers', int('--layers', 1), 1)
    .option('--lr <rate>', 'learning rate (Adam)', positive('--lr'), 0.003)
    .option('--clip <norm>', 'clip gradients to this global norm', positive('--clip'), 5)
    .option('--seed <n>', 'seed of the initialisation and the batches', int('--seed', 0), 1)
    .option('--out <file>', 'save a checkpoint (safetensors: parameters under PyTorch names, optimizer state, step)')
    .option('--resume <file>', 'continue from a checkpoint of the same model (parameters, optimizer state, step)')
    .action(async (opts) => train(opts));
  p.command('sample')
    .description('generate text from a saved model')
    .requiredOption('--checkpoint <file>', 'a model saved by train --out')
    .option('--length <n>', 'characters to generate', int('--length', 1), 300)
    .option('--temperature <t>', 'softmax temperature', positive('--temperature'), 0.8)
    .option('--prime <text>', 'text to start from')
    .option('--seed <n>', 'seed of the sampling', int('--seed', 0), 1)
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
