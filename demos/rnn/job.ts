/**
 * The RNN page's job (in the page's worker, or on the main thread in the
 * fallback): two networks (tanh, ReLU) trained on the same batches, and the
 * measurement after each chunk (||dL/dh_t|| for every t, the global gradient
 * norm, max |h_T|, the loss), posted to the page as its view. A change of the
 * W_hh scale re-initialises W_hh (at the next chunk, or at once when paused:
 * the view then measures one step without learning).
 */
import { RNN } from '../../src/nn/recurrent.js';
import { Linear } from '../../src/nn/layers.js';
import { Container, type Module } from '../../src/nn/module.js';
import { mulberry32 } from '../../src/nn/init.js';
import { sumSquares } from '../../src/ops.js';
import type { TrainData } from '../../src/train/data.js';
import { MSELoss } from '../../src/train/loss.js';
import { SGD } from '../../src/train/optim.js';
import type { StepInfo } from '../../src/train/trainer.js';
import type { Tensor } from '../../src/tensor.js';
import type { Runtime } from '../../src/runtime.js';
import type { DemoJob, JobConfig, LossPoint } from '../common/shell.js';
import { PageTrainer, stepRandom } from '../common/train.js';

export const KINDS = ['tanh', 'relu'] as const;
export type Kind = (typeof KINDS)[number];

/** W_hh = s·I, or s·Q with Q orthogonal (Gram-Schmidt of a seeded Gaussian matrix). */
function recurrentWeight(H: number, s: number, shape: string, seed: number): Float32Array {
  const w = new Float32Array(H * H);
  if (shape === 'identity') {
    for (let i = 0; i < H; i++) w[i * H + i] = s;
    return w;
  }
  const r = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const q: Float64Array[] = [];
  for (let i = 0; i < H; i++) {
    const v = Float64Array.from({ length: H }, gauss);
    for (const u of q) {
      let d = 0;
      for (let k = 0; k < H; k++) d += v[k]! * u[k]!;
      for (let k = 0; k < H; k++) v[k]! -= d * u[k]!;
    }
    const n = Math.hypot(...v);
    for (let k = 0; k < H; k++) v[k]! /= n;
    q.push(v);
  }
  for (let i = 0; i < H; i++) for (let k = 0; k < H; k++) w[i * H + k] = s * q[i]![k]!;
  return w;
}

/**
 * One network: an RNN and a linear head on h_T, as one Module (children
 * `rnn`, `head`): forward x [T, B, 1] -> the prediction [B, 1]; backward
 * sends the head's gradient into h_T (no gradient enters the other outputs).
 */
class Net extends Container {
  readonly rnn: RNN;
  readonly head: Linear;
  /** h_T [1, B, H] of the last forward (the layer's own buffer). */
  hT: Tensor | null = null;
  private shape: [number, number] = [0, 0];
  constructor(rt: Runtime, readonly kind: Kind, readonly H: number, seed: number) {
    super(rt);
    this.rnn = new RNN(rt, { inputSize: 1, hiddenSize: H, nonlinearity: kind, trackGradNorm: true, seed });
    this.head = new Linear(rt, { inFeatures: H, outFeatures: 1, seed: seed + 1 });
  }

  override children(): Record<string, Module> {
    return { rnn: this.rnn, head: this.head };
  }

  forward(x: Tensor): Tensor {
    const [T, B] = x.shape as [number, number];
    this.shape = [T, B];
    const r = this.rnn.forward(x);
    this.hT = r.h;
    return this.head.forward(r.h.reshape([B, this.H]));
  }

  backward(dy: Tensor): void {
    const [T, B] = this.shape;
    const dh = this.head.backward(dy);
    // The loss sees h_T only: zero gradient into the outputs, the head's into the final state.
    this.rnn.backward(this.buffer('dOut', [T, B, this.H]), { dh: dh.reshape([1, B, this.H]) });
  }

  /** Input weights seeded, biases zero (the recurrence alone carries the value), W_hh as chosen. */
  init(s: number, shape: string, seed: number): void {
    const H = this.H;
    const r = mulberry32(seed);
    const k = 1 / Math.sqrt(H);
    this.rnn.loadStateDict({
      weight_ih_l0: Float32Array.from({ length: H }, () => (r() * 2 - 1) * 4 * k),
      weight_hh_l0: recurrentWeight(H, s, shape, seed + 7),
      bias_ih_l0: new Float32Array(H),
      bias_hh_l0: new Float32Array(H),
    });
    this.head.loadStateDict({ weight: Float32Array.from({ length: H }, () => (r() * 2 - 1) * k), bias: new Float32Array(1) });
  }
}

export interface Measured {
  loss: number;
  profile: Float32Array;
  gradNorm: number;
  maxH: number;
}

/** The page's view: what the last measurement found, and the settings it was made with. */
export interface RnnView {
  T: number;
  H: number;
  scale: number;
  shape: string;
  clip: number | null;
  step: number;
  nets: (Measured & { kind: Kind })[];
}

export async function rnnJob(rt: Runtime, { values: v }: JobConfig): Promise<DemoJob> {
  const H = Number(v.hidden);
  const T = Number(v.T);
  const B = Number(v.batch);
  const seed = 12345;
  const nets = KINDS.map((k, i) => new Net(rt, k, H, seed + 10 * i));
  // The recall task: a value ±1 at t = 1 (drawn from the step: a pure function of it), then zeros; the target is the value.
  const data: TrainData = {
    xShape: [T, B, 1],
    yShape: [B, 1],
    batch(stepNo, xs, ys) {
      xs.fill(0);
      const rand = stepRandom(seed + 99, stepNo);
      for (let b = 0; b < B; b++) {
        const val = rand() < 0.5 ? -1 : 1;
        xs[b] = val; // t = 1; every later input is 0
        ys[b] = val;
      }
    },
  };
  const trainers = nets.map((n) => new PageTrainer(n, data, { loss: 'mse', optimizer: new SGD(n.parameters(), { lr: Number(v.lr) }), clip: v.clipOn ? Number(v.clip) : 0, logEvery: 50 }));
  // For the measurement without learning (after a re-initialisation while paused).
  const x = rt.zeros([T, B, 1], 'rnn-demo.x');
  const y = rt.zeros([B, 1], 'rnn-demo.y');
  const xs = new Float32Array(T * B);
  const ys = new Float32Array(B);
  // A loss each: a loss object owns its output tensors, and both networks' losses are read after the probe.
  const mses = nets.map(() => new MSELoss(rt));
  const norms = nets.map((n) => rt.zeros([1], `${n.kind}.gradSumSquares`));
  let scale = Number(v.scale);
  let reinit = true;
  let clip: number | null = v.clipOn ? Number(v.clip) : null;
  let last: Measured[] = [];
  let measured: RnnView | null = null;

  /** What each network's last step left: its loss and (clipping on) gradient norm from the Trainer, else both read here. */
  interface LastStep {
    loss: number | Tensor;
    gradNorm?: number;
  }

  /** Trains both networks `n` steps (the same batches); returns what their last steps left. */
  const trainBoth = async (n: number): Promise<LastStep[]> => {
    const out: LastStep[] = [];
    for (const t of trainers) {
      let info: StepInfo | null = null;
      await t.fit(n, (i) => {
        if (!info || i.step > info.step) info = i;
      });
      const i = info as StepInfo | null;
      out.push({ loss: i?.loss ?? NaN, gradNorm: i?.gradNorm });
    }
    return out;
  };

  /** The gradients at the current weights for the batch of step `stepNo`, without learning (forward, loss, backward only). */
  const probe = (stepNo: number): LastStep[] => {
    data.batch(stepNo, xs, ys, []);
    x.write(xs);
    y.write(ys);
    const out: LastStep[] = [];
    for (const [i, n] of nets.entries()) {
      rt.step(() => {
        n.zeroGrad();
        const l = mses[i]!.forward(n.forward(x), y);
        n.backward(l.grad);
        out.push({ loss: l.loss });
      });
    }
    return out;
  };

  const measure = async (stepNo: number, o: LastStep[]): Promise<void> => {
    last = [];
    for (let i = 0; i < nets.length; i++) {
      const n = nets[i]!;
      const r = o[i]!;
      // The gradient norm before clipping: the Trainer's when it clipped, else the gradients' own (unchanged by SGD).
      if (r.gradNorm === undefined) rt.step(() => sumSquares(rt, norms[i]!, n.gradientArenas().map((g) => g.all)));
      const [lv, prof, nv, hv] = await Promise.all([
        typeof r.loss === 'number' ? [r.loss] : r.loss.read(),
        n.rnn.gradNormPerTimestep(),
        r.gradNorm === undefined ? norms[i]!.read() : null,
        n.hT!.read(),
      ]);
      let maxH = 0;
      for (const h of hv) maxH = Math.max(maxH, Math.abs(h));
      if (!Number.isFinite(hv.reduce((a, b) => a + b, 0))) maxH = Infinity;
      const gn = r.gradNorm ?? Math.sqrt(nv![0]!);
      last.push({ loss: lv[0]!, profile: prof, gradNorm: gn, maxH });
    }
    measured = { T, H, scale, shape: String(v.shape), clip, step: stepNo, nets: last.map((m, i) => ({ ...m, kind: nets[i]!.kind })) };
  };

  const applyInit = () => {
    nets.forEach((n, i) => n.init(scale, String(v.shape), seed + 10 * i));
    reinit = false;
  };

  // (The loop runs chunks, views and requests one at a time: a view never overlaps a chunk.)
  return {
    async train(from: number, n: number): Promise<LossPoint[]> {
      if (reinit) applyInit();
      if (trainers.some((t) => t.step !== from)) throw new Error(`rnn demo: asked to train from step ${from}, the trainers are at ${trainers.map((t) => t.step).join(', ')}`);
      const o = await trainBoth(n);
      await measure(from + n, o);
      return [{ step: from + n - 1, loss: last.map((m) => m.loss) }];
    },
    /** The last chunk's measurement; after a re-initialisation while paused, one step measured without learning. */
    async view(step: number): Promise<RnnView | null> {
      if (reinit) {
        applyInit();
        await measure(step, probe(step));
      }
      return measured;
    },
    set(vals) {
      clip = vals.clipOn ? Number(vals.clip) : null;
      for (const t of trainers) t.update({ lr: Number(vals.lr), clip: clip ?? 0 });
      if (Number(vals.scale) !== scale) {
        scale = Number(vals.scale);
        reinit = true;
      }
    },
    destroy() {
      for (const t of trainers) t.destroy();
      for (const n of nets) n.destroy();
      for (const t of [x, y, ...norms]) t.destroy();
      for (const m of mses) m.destroy();
    },
  };
}
