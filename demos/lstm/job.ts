/**
 * The LSTM page's job (runs in the page's worker, or on the main thread in
 * the fallback): the model, its trainer, and the views (gates over the
 * passage, a sample continuing it) as plain data for the page to draw.
 *
 * The views run on a copy of the model, `reader` (weights copied on the GPU
 * before each view): its forward over the [SAMPLE, 1] passage gives the
 * gates, and its `generate` continues the passage with every character
 * picked on the GPU (one submit, one read-back). The trained model's buffers
 * and plan for [seqLen, batch] are never resized or evicted by the views.
 */
import sonnets from '../../data/sonnets.txt?raw';
import { SequenceToSequence, type SequenceModelOptions } from '../../src/models/sequence.js';
import type { Runtime } from '../../src/runtime.js';
import type { Tensor } from '../../src/tensor.js';
import type { DemoJob, JobConfig } from '../common/shell.js';
import { PageTrainer, stepRandom } from '../common/train.js';

const SEED = 1;
/** Characters in the heat map's passage (which the samples continue). */
export const SAMPLE = 60;
/** A pasted text needs at least this many characters (and twice the sequence length). */
export const MIN_TEXT = 100;

export interface Corpus {
  chars: string[];
  source: string;
  /** Why a pasted text was not used ('' when it was, or when none was pasted). */
  warning: string;
}

export function needed(seqLen: number): number {
  return Math.max(MIN_TEXT, 2 * seqLen + 2);
}

/** The pasted text when it is long enough, else the sonnets (and why). */
export function chooseText(pasted: string, seqLen: number): Corpus {
  const p = [...pasted.replace(/\r\n?/g, '\n')];
  const sonnetsCorpus = { chars: [...sonnets], source: "Shakespeare's sonnets (built in)" };
  if (!pasted.trim()) return { ...sonnetsCorpus, warning: '' };
  const need = needed(seqLen);
  if (p.length < need) {
    return { ...sonnetsCorpus, warning: `Your text has ${p.length} characters: too short, it needs at least ${need} (for sequence length ${seqLen}). Training on the sonnets instead.` };
  }
  return { chars: p, source: `your text (${p.length} characters)`, warning: '' };
}

/** The heat map's passage: SAMPLE characters from the start of the line nearest the middle of the text. */
function passageStart(chars: string[]): number {
  const mid = Math.floor((chars.length - SAMPLE) / 2);
  let s = mid;
  while (s > 0 && chars[s - 1] !== '\n') s--;
  return Math.max(0, Math.min(s, chars.length - SAMPLE));
}

/** GPU-side copy of every parameter (the models share one configuration, hence one layout). */
function copyWeights(rt: Runtime, from: SequenceToSequence, to: SequenceToSequence): void {
  const dst = to.parameters();
  from.parameters().forEach((p, i) => rt.copy(p.value, dst[i]!.value));
}

export interface LstmInfo {
  source: string;
  warning: string;
  vocab: string[];
  passage: string[];
}

export interface LstmView {
  /** Gate activations over the passage: values[((t * G + g) * H + j] (batch 1). */
  names: string[];
  values: Float32Array;
  H: number;
  generated: string;
  temperature: number;
  ms: number;
}

export async function lstmJob(rt: Runtime, { values: v }: JobConfig): Promise<DemoJob> {
  const T = Number(v.seqLen);
  const B = Number(v.batch);
  const H = Number(v.hidden);
  const corpus = chooseText(String(v.text), T);
  const { chars } = corpus;
  const vocab = [...new Set(chars)].sort();
  const V = vocab.length;
  const index = new Map(vocab.map((ch, i) => [ch, i]));
  const ids = Float32Array.from(chars, (ch) => index.get(ch)!);

  const opts: SequenceModelOptions = { input: 'embedding', inputSize: V, cell: 'lstm', hiddenSize: H, outputSize: V, seed: SEED };
  const model = new SequenceToSequence(rt, opts);
  const reader = new SequenceToSequence(rt, opts);
  const at = passageStart(chars);
  const passage = chars.slice(at, at + SAMPLE);
  const passageIds = Array.from(ids.subarray(at, at + SAMPLE));
  const readerX: Tensor = rt.tensor(passageIds, [SAMPLE, 1], 'lstm.passage');
  let temperature = Number(v.temperature);
  let length = Number(v.genLength);

  // Random windows of the text (drawn from the step: a pure function of it); the targets are the inputs shifted by one character.
  const trainer = new PageTrainer(
    model,
    {
      xShape: [T, B],
      yShape: [T * B],
      numClasses: V,
      batch(step, x, y) {
        const rand = stepRandom(SEED + 6, step);
        for (let b = 0; b < B; b++) {
          const s = Math.floor(rand() * (ids.length - T - 1));
          for (let t = 0; t < T; t++) {
            x[t * B + b] = ids[s + t]!;
            y[t * B + b] = ids[s + t + 1]!;
          }
        }
      },
    },
    { loss: 'cross_entropy', lr: Number(v.lr), clip: Number(v.clip) },
  );

  return {
    info: { source: corpus.source, warning: corpus.warning, vocab, passage } satisfies LstmInfo,
    train: (from, n) => trainer.train(from, n),
    set(vals) {
      trainer.update(vals as never);
      if (typeof vals.temperature === 'number') temperature = vals.temperature;
      if (vals.genLength !== undefined) length = Number(vals.genLength);
    },
    /** The gates over the passage and its continuation, from the weights after `atStep` steps. */
    async view(atStep): Promise<LstmView> {
      const t0 = performance.now();
      copyWeights(rt, model, reader);
      reader.forward(readerX);
      const acts = await reader.rnn.gateActivations();
      // Sampled on the GPU (seeded by the step: the same weights give the same text).
      const [out] = await reader.generate(length, { prime: passageIds, temperature, seed: SEED + atStep });
      const generated = out!.map((i) => vocab[i]!).join('');
      return { names: acts.names, values: acts.values, H: acts.H, generated, temperature, ms: Math.round(performance.now() - t0) };
    },
    // The metadata `webgpu-rnn sample --checkpoint FILE` reads: the page's model samples from the command line too.
    checkpoint: () =>
      trainer.checkpoint({
        'charmodel.arch': 'lstm',
        'charmodel.hidden': String(H),
        'charmodel.layers': '1',
        'charmodel.vocab': JSON.stringify(vocab),
        'charmodel.embedding': String(opts.embeddingDim ?? H),
      }),
    destroy() {
      for (const m of [model, reader]) m.destroy();
      readerX.destroy();
      trainer.destroy();
    },
  };
}
