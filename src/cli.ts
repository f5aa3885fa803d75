#!/usr/bin/env node
/**
 * webgpu-rnn: train a character-level recurrent model on a text (by default
 * the built-in public-domain sonnets) and sample from it; `demo` runs the
 * runtime demo (a linear model fitted on the GPU).
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
import { SequenceToSequence } from './models/sequence.js';
import { mulberry32 } from './nn/init.js';
import { createRuntime, type Runtime } from './runtime.js';
import { loadCheckpoint, saveCheckpoint } from './train/checkpoint.js';
import { fit, type TrainData } from './train/fit.js';
import { Adam } from './train/optim.js';

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

interface CharModelConfig {
  arch: 'lstm' | 'gru' | 'rnn';
  hidden: number;
  layers: number;
  vocab: string[];
}

function buildModel(rt: Runtime, c: CharModelConfig, seed: number): SequenceToSequence {
  return new SequenceToSequence(rt, {
    input: 'embedding',
    inputSize: c.vocab.length,
    embeddingDim: Math.min(64, c.hidden),
    cell: c.arch,
    hiddenSize: c.hidden,
    numLayers: c.layers,
    outputSize: c.vocab.length,
    seed,
  });
}

/** Characters from the model, one step at a time (each step reads its logits back to sample on the CPU). */
async function sampleText(rt: Runtime, model: SequenceToSequence, vocab: string[], prime: string, length: number, temperature: number, seed: number): Promise<string> {
  const rand = mulberry32(seed);
  const x = rt.zeros([1, 1]);
  let state: { h0?: import('./tensor.js').Tensor; c0?: import('./tensor.js').Tensor } = {};
  let out = '';
  let next = vocab.indexOf(prime[0] ?? vocab[0]!);
  const steps = prime.length - 1 + length;
  for (let i = 0; i < steps; i++) {
    x.write([next]);
    const r = model.forward(x, state);
    state = { h0: r.h, c0: r.c };
    const logits = await r.logits.read();
    if (i + 1 < prime.length) {
      next = vocab.indexOf(prime[i + 1]!);
      continue;
    }
    const mx = Math.max(...logits);
    const p = Array.from(logits, (v) => Math.exp((v - mx) / temperature));
    let u = rand() * p.reduce((a, b) => a + b, 0);
    next = p.length - 1;
    for (let c = 0; c < p.length; c++) {
      u -= p[c]!;
      if (u <= 0) {
        next = c;
        break;
      }
    }
    out += vocab[next];
  }
  x.destroy();
  return prime + out;
}

async function train(o: Record<string, unknown>): Promise<void> {
  const arch = o.arch as string;
  if (arch !== 'lstm' && arch !== 'gru' && arch !== 'rnn') {
    throw new UsageError(`--arch ${arch}: not available from the command line yet (lstm, gru, rnn are)`);
  }
  const { text, source } = await readText(o.data as string | undefined);
  if (text.length < 64) throw new UsageError(`the text in '${String(o.data)}' is too short (${text.length} characters, need 64)`);
  const vocab = [...new Set(text)].sort();
  const ids = Float32Array.from(text, (ch) => vocab.indexOf(ch));
  const T = 32;
  const B = o.batch as number;
  const steps = o.steps as number;
  const seed = o.seed as number;
  const rt = await createRuntime({ quiet: true });
  const info = rt.adapterInfo;
  console.log(`webgpu-rnn: ${arch.toUpperCase()} (${o.layers} x ${o.hidden}) on ${source}: ${text.length} characters, ${vocab.length} symbols`);
  console.log(`adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ')}${rt.isCpu ? ' (CPU: expect CPU speeds)' : ''}`);
  const cfg: CharModelConfig = { arch, hidden: o.hidden as number, layers: o.layers as number, vocab };
  const model = buildModel(rt, cfg, seed);
  const optimizers = Object.values(model.modules).map((m) => new Adam(rt, m.params, m.gradients, { lr: o.lr as number }));
  let startStep = 0;
  if (o.resume) {
    const fs = await import('node:fs/promises');
    const path = o.resume as string;
    const bytes = await fs.readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read '${path}' (${e.code ?? e})`);
    });
    const saved = readConfig(new Uint8Array(bytes), path).cfg;
    if (saved.arch !== cfg.arch || saved.hidden !== cfg.hidden || saved.layers !== cfg.layers || saved.vocab.join('') !== cfg.vocab.join('')) {
      throw new UsageError(
        `--resume: '${path}' holds a ${saved.arch} ${saved.layers} x ${saved.hidden} over ${saved.vocab.length} symbols; this run is ${cfg.arch} ${cfg.layers} x ${cfg.hidden} over ${cfg.vocab.length}`,
      );
    }
    try {
      startStep = (await loadCheckpoint(new Uint8Array(bytes), model, optimizers)).step;
    } catch (e) {
      throw new UsageError(`--resume: ${(e as Error).message}`);
    }
    console.log(`resumed from ${path} at step ${startStep}`);
  }
  // The batch stream continues where a resumed run left off.
  const rand = mulberry32(seed);
  for (let i = 0; i < startStep * B; i++) rand();
  const data: TrainData = {
    xShape: [T, B],
    yShape: [T * B],
    batch(_step, x, y) {
      for (let b = 0; b < B; b++) {
        const s = Math.floor(rand() * (ids.length - T - 1));
        for (let t = 0; t < T; t++) {
          x[t * B + b] = ids[s + t]!;
          y[t * B + b] = ids[s + t + 1]!;
        }
      }
    },
  };
  const bar = new cliProgress.SingleBar(
    { format: 'train [{bar}] {value}/{total} steps | loss {loss} | {rate} steps/s', hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 5000 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(steps, 0, { loss: '-', rate: '-' });
  const res = await fit(model, data, {
    steps,
    loss: 'cross_entropy',
    optimizer: optimizers,
    clip: o.clip as number,
    logEvery: Math.max(1, Math.min(20, Math.floor(steps / 10))),
    onStep: (s) => bar.update(s.step + 1, { loss: s.loss.toFixed(3), rate: s.stepsPerSecond.toFixed(1) }),
  });
  bar.update(res.steps);
  bar.stop();
  const first = res.losses[0]?.loss;
  const last = res.losses[res.losses.length - 1]?.loss;
  if (first !== undefined && last !== undefined) console.log(`loss ${first.toFixed(3)} -> ${last.toFixed(3)} in ${res.steps} steps`);
  if (o.out) {
    const fs = await import('node:fs/promises');
    const metadata = { 'charmodel.arch': cfg.arch, 'charmodel.hidden': String(cfg.hidden), 'charmodel.layers': String(cfg.layers), 'charmodel.vocab': JSON.stringify(cfg.vocab) };
    await fs.writeFile(o.out as string, await saveCheckpoint(model, optimizers, { step: startStep + res.steps, metadata }));
    console.log(`saved ${String(o.out)}`);
  }
  console.log('--- sample ---');
  console.log(await sampleText(rt, model, vocab, text.slice(0, 1), 200, 0.8, seed));
  model.destroy();
  rt.destroy();
}

function readConfig(bytes: Uint8Array, path: string): { cfg: CharModelConfig; tensors: Record<string, Float32Array> } {
  let dec;
  try {
    dec = decodeSafetensors(bytes);
  } catch (e) {
    throw new UsageError(`'${path}' is not a checkpoint: ${(e as Error).message}`);
  }
  const m = dec.metadata;
  if (!m['charmodel.arch']) throw new UsageError(`'${path}' is not a character model saved by webgpu-rnn train --out`);
  const cfg: CharModelConfig = {
    arch: m['charmodel.arch'] as CharModelConfig['arch'],
    hidden: Number(m['charmodel.hidden']),
    layers: Number(m['charmodel.layers']),
    vocab: JSON.parse(m['charmodel.vocab'] ?? '[]') as string[],
  };
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
  const rt = await createRuntime({ quiet: true });
  const model = buildModel(rt, cfg, 0);
  model.loadStateDict(tensors);
  const prime = (o.prime as string | undefined) ?? cfg.vocab.find((c) => /[A-Z]/.test(c)) ?? cfg.vocab[0]!;
  for (const ch of prime) if (!cfg.vocab.includes(ch)) throw new UsageError(`--prime: '${ch}' is not in the model's vocabulary`);
  console.log(await sampleText(rt, model, cfg.vocab, prime, o.length as number, o.temperature as number, o.seed as number));
  model.destroy();
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
    .option('--data <file>', 'a UTF-8 text file to train on')
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
