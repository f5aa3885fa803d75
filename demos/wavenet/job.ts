/**
 * The WaveNet page's job (in the page's worker, or on the main thread in the
 * fallback): the network, its trainer, and the view: a continuation of the
 * melody by fast generation (per-layer queues on the GPU, one read-back),
 * posted as samples for the page to plot and play.
 */
import { muLawDecode } from '../../src/nn/mulaw.js';
import { WaveNet, receptiveField, type WaveNetConfig } from '../../src/nn/wavenet.js';
import type { Runtime } from '../../src/runtime.js';
import type { DemoJob, JobConfig, Values } from '../common/shell.js';
import { PageTrainer, stepRandom } from '../common/train.js';
import { MELODY, synthesize, type Waveform } from './waveform.js';

/** The model the controls describe: channels, dilations 1..2^(layers-1) repeated `stacks` times, mu-law classes. */
export function configOf(v: Values): WaveNetConfig & { dilations: number[]; stacks: number; kernelSize: number } {
  const C = Number(v.hidden);
  const Q = Number(v.classes);
  return {
    inChannels: 1, // the previous sample's mu-law decoded amplitude (the generation kernel feeds back the same)
    residualChannels: C,
    dilationChannels: C,
    skipChannels: 2 * C,
    outChannels: Q, // logits over the mu-law classes
    dilations: Array.from({ length: Number(v.layers) }, (_, i) => 2 ** i),
    stacks: Number(v.stacks),
    kernelSize: 2,
    seed: 1,
  };
}

const waveforms = new Map<string, Waveform>();
function waveformFor(rate: number, levels: number): Waveform {
  const key = `${rate}/${levels}`;
  let w = waveforms.get(key);
  if (!w) waveforms.set(key, (w = synthesize(rate, levels)));
  return w;
}

export interface WaveNetInfo {
  receptiveField: number;
  sampleRate: number;
  layers: number;
  /** Past activations kept per channel (the sum of the layers' dilations). */
  queued: number;
}

export interface WaveNetView {
  /** The generated samples, decoded to amplitudes. */
  gen: Float32Array;
  /** What the melody did next. */
  truth: Float32Array;
  /** The end of the prefix (teacher-forced), up to 20 ms. */
  pre: Float32Array;
  /** Prefix length in samples. */
  P: number;
  /** Seconds from the call to the read-back. */
  secs: number;
  /** The note continued (Hz). */
  note: number;
  temperature: number;
}

export async function wavenetJob(rt: Runtime, { values: v }: JobConfig): Promise<DemoJob> {
  const cfg = configOf(v);
  const rf = receptiveField(cfg);
  const Q = cfg.outChannels;
  const wf = waveformFor(Number(v.rate), Q);
  const sr = wf.sampleRate;
  const B = Number(v.batch);
  const T = Number(v.seqLen);
  const net = new WaveNet(rt, cfg);
  const N = wf.classes.length;
  // The WaveNet trains as it is: its [B, Q, T] output is the class dimension 1 of the cross-entropy.
  const trainer = new PageTrainer(
    net,
    {
      // x: [B, 1, T] the decoded amplitude of sample t; y: [B*T] the class of sample t + 1 (windows drawn from the step).
      xShape: [B, 1, T],
      yShape: [B * T],
      numClasses: Q,
      batch(step, x, y) {
        const rand = stepRandom(7, step);
        for (let b = 0; b < B; b++) {
          const s = Math.floor(rand() * (N - T - 1));
          for (let t = 0; t < T; t++) {
            x[b * T + t] = wf.decoded[s + t]!;
            y[b * T + t] = wf.classes[s + t + 1]!;
          }
        }
      },
    },
    { loss: 'cross_entropy', classDim: 1, lr: Number(v.lr), clip: Number(v.clip) },
  );

  // Compile the generation kernel now, so that the first measured rate is the kernel's, not the compiler's.
  const warm = net.generate(1, { mode: 'sample', input: 'mulaw' });
  await warm.samples.read();
  warm.samples.buffer.destroy();

  let n = Number(v.gen);
  let temperature = Number(v.temperature);
  let views = 0;
  return {
    info: { receptiveField: rf, sampleRate: sr, layers: net.numLayers, queued: net.layerDilations.reduce((s, d) => s + d, 0) } satisfies WaveNetInfo,
    train: (from, k) => trainer.train(from, k),
    set(vals) {
      trainer.update(vals as Values);
      if (vals.gen !== undefined) n = Number(vals.gen);
      if (vals.temperature !== undefined) temperature = Number(vals.temperature);
    },
    async view(step): Promise<WaveNetView> {
      // Prime with a stretch of one note (a different note each time), 30 ms after its onset.
      const seed = step + views;
      const note = views++ % MELODY.length;
      const P = Math.max(rf, Math.round(0.03 * sr));
      const start = wf.noteStarts[note]! + Math.round(0.03 * sr);
      const at = (i: number) => wf.decoded[(start + i) % N]!;
      const prefix = rt.tensor(Float32Array.from({ length: P }, (_, i) => at(i)), [1, 1, P], 'wavenet-demo.prefix');
      const t0 = performance.now();
      const { samples } = net.generate(n, { prefix, mode: 'sample', input: 'mulaw', temperature, seed });
      const cls = await samples.read();
      const secs = (performance.now() - t0) / 1000;
      samples.buffer.destroy();
      prefix.destroy();
      const gen = Float32Array.from(cls, (q) => muLawDecode(q, Q - 1));
      const truth = Float32Array.from({ length: n }, (_, i) => at(P + i));
      const tail = Math.min(P, Math.round(0.02 * sr));
      const pre = Float32Array.from({ length: tail }, (_, i) => at(P - tail + i));
      return { gen, truth, pre, P, secs, note: MELODY[note]!, temperature };
    },
    // The WaveNet's parameters under their PyTorch names (input.weight, ...), its Adam state, and the audio settings.
    checkpoint: () =>
      trainer.checkpoint({
        'demo.sampleRate': String(wf.sampleRate),
        'demo.muLawClasses': String(Q),
        'demo.dilations': JSON.stringify(cfg.dilations),
        'demo.stacks': String(cfg.stacks),
      }),
    destroy() {
      trainer.destroy();
      net.destroy();
    },
  };
}
