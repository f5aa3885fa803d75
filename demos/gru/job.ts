/**
 * The GRU page's job (in the page's worker, or on the main thread in the
 * fallback): the model, its trainer, and the view: the recursive forecast of
 * the held-out months, the one-step-ahead outputs and the gates over the
 * input window, as plain arrays (the page turns them into levels and draws).
 */
import { SequenceToSequence } from '../../src/models/sequence.js';
import type { Runtime } from '../../src/runtime.js';
import type { Tensor } from '../../src/tensor.js';
import type { DemoJob, JobConfig, Values } from '../common/shell.js';
import { PageTrainer, stepRandom } from '../common/train.js';
import { Prepared, co2Series, syntheticSeries, type Series, type Target } from './data.js';
import type { GateData } from './gates.js';

const SEED = 1;

const seriesCache = new Map<string, Series>();
export function seriesFor(name: string): Series {
  let s = seriesCache.get(name);
  if (!s) seriesCache.set(name, (s = name === 'synthetic' ? syntheticSeries() : co2Series()));
  return s;
}

/** The series and its split for the page's values (the same in the job and on the page). */
export function prepared(v: Values): { series: Series; data: Prepared; target: Target; H: number; T: number } {
  const series = seriesFor(String(v.series));
  const target: Target = v.target === 'levels' ? 'levels' : 'changes';
  const H = Number(v.horizon);
  const T = Number(v.window);
  return { series, data: new Prepared(series, H, target, T), target, H, T };
}

export interface GruView {
  /** The recursive forecast, in the network's units [H]. */
  outs: Float32Array;
  /** The one-step-ahead outputs over the window and the held-out months [T + H - 1]. */
  one: Float32Array;
  gates: GateData;
}

export async function gruJob(rt: Runtime, { values: v }: JobConfig): Promise<DemoJob> {
  const { series, data, target, H, T } = prepared(v);
  const B = Number(v.batch);
  const model = new SequenceToSequence(rt, { input: 'dense', inputSize: 1, cell: 'gru', hiddenSize: Number(v.hidden), outputSize: 1, seed: SEED });
  // Each step's windows drawn from the step (a pure function of it).
  const trainer = new PageTrainer(
    model,
    { xShape: [T, B, 1], yShape: [T, B, 1], batch: (step, x, y) => data.fillBatch(stepRandom(SEED + 6, step), B, x, y) },
    { loss: 'mse', lr: Number(v.lr), clip: Number(v.clip) },
  );

  // Inputs of the forecasts, made once per session and rewritten in place.
  const xWin = rt.tensor(data.context(), [T, 1, 1], 'gru.window');
  const xOne = rt.tensor(data.oneStepInputs(), [T + H - 1, 1, 1], 'gru.oneStep');
  const xStep = rt.zeros([1, 1, 1], 'gru.step');
  const outs = rt.zeros([H], 'gru.recursive');
  const own: Tensor[] = [xWin, xOne, xStep, outs];

  /** Recursive forecast + the gates over the input window (one read each). */
  async function recursive(): Promise<{ outs: Float32Array; gates: GateData }> {
    // The window forward: its last output predicts the first held-out month.
    const w = model.forward(xWin);
    rt.copy(w.logits.view([1], T - 1), xStep.reshape([1]));
    rt.copy(w.logits.view([1], T - 1), outs.view([1], 0));
    // Read the gates now: the next forward (another shape) becomes the layer's "last".
    const gates = await model.rnn.gateActivations(0, 0);
    let h = w.h;
    for (let k = 1; k < H; k++) {
      // Feed the prediction back (a GPU copy: no read per step), carrying the state.
      const r = model.forward(xStep, { h0: h });
      h = r.h;
      rt.copy(r.logits.reshape([1]), outs.view([1], k));
      rt.copy(r.logits, xStep);
    }
    return { outs: await outs.read(), gates };
  }

  return {
    train: (from, n) => trainer.train(from, n),
    set: (vals) => trainer.update(vals as Values),
    async view(): Promise<GruView> {
      const rec = await recursive();
      const one = await model.forward(xOne).logits.read();
      return { outs: rec.outs, one, gates: rec.gates };
    },
    checkpoint: () =>
      trainer.checkpoint({
        'demo.series': series.name,
        'demo.target': target,
        'demo.window': String(T),
        // The inputs and outputs are (value - mean) / std of what the network sees (monthly changes or levels).
        'demo.mean': String(data.mean),
        'demo.std': String(data.std),
      }),
    destroy() {
      for (const t of own) t.destroy();
      trainer.destroy();
      model.destroy();
    },
  };
}
