/**
 * Vanishing and exploding gradients in a vanilla RNN, measured on the GPU.
 *
 * Two RNNs, tanh and ReLU, learn the same long-range task: read a value
 * (+1 or -1) at t = 1, then nothing for T - 1 steps, and output the value at
 * t = T (a linear head on h_T, MSE). W_hh starts as s·I (or s·Q, Q a random
 * orthogonal matrix), so along the recurrence every backward step multiplies
 * dL/dh by W_hh^T times the activation's slope: ReLU on active units gives
 * exactly s per step (s^(T-1) in all), tanh gives s·(1 - h²) <= s, and its
 * activations stay in (-1, 1) however large s is. The layers keep
 * ||dL/dh_t|| for every t (trackGradNorm), read after each chunk of steps.
 * Each network is one Module (rnn + head) trained by the library's Trainer
 * with plain SGD, on the same batches (a pure function of the step);
 * clipping by global norm (on the GPU) is a toggle.
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
import { LinePlot } from '../common/plot.js';
import { PageTrainer, stepRandom } from '../common/train.js';
import { fmt, hiddenControl, runDemo, type DemoPage, type LossPoint, type Values } from '../common/shell.js';

const KINDS = ['tanh', 'relu'] as const;
type Kind = (typeof KINDS)[number];
const COLORS: Record<Kind, string> = { tanh: '#1f6feb', relu: '#cf222e' };

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

interface Measured {
  loss: number;
  profile: Float32Array;
  gradNorm: number;
  maxH: number;
}

let profilePlot: LinePlot;
let normPlot: LinePlot;
let numbersEl: HTMLElement;

function describe(kind: Kind, m: Measured, T: number, s: number, shape: string): string {
  const first = m.profile[0]!;
  const last = m.profile[T - 1]!;
  const ratio = first / last;
  // Per step along the recurrence, from t = T-1 down to 1 (dL/dh_T itself comes from the head, all units).
  const perStep = Math.pow(first / m.profile[T - 2]!, 1 / (T - 2));
  const over = !Number.isFinite(m.loss) || !Number.isFinite(first) || !Number.isFinite(m.maxH);
  const lines = [
    `${kind.padEnd(4)}  ||dL/dh_1|| = ${fmt(first)}   ||dL/dh_${T}|| = ${fmt(last)}   ratio = ${fmt(ratio)}   per step (t = ${T - 1} -> 1) x${fmt(perStep)}`,
    `      max |h_${T}| = ${fmt(m.maxH)}   gradient norm (all weights, before clipping) = ${fmt(m.gradNorm)}   loss = ${fmt(m.loss)}`,
  ];
  if (over) {
    lines.push('      float32 overflowed: values past 3.4e38 became inf, an update made the weights NaN: the explosion, measured.');
    lines.push('      Reset to start again (with clipping on, the step taken is bounded and the weights survive).');
  } else if (first === 0) lines.push('      dL/dh_1 is exactly 0: the signal died on the way (every ReLU unit switched off, or it underflowed)');
  else if (kind === 'relu' && shape === 'identity') lines.push(`      theory for ReLU with W_hh = ${s}·I (active units): x${s} per step, s^(T-1) = ${fmt(Math.pow(s, T - 1))}`);
  else if (kind === 'tanh') lines.push(`      tanh: |h| < 1 always; each step multiplies by s·(1 - h²) <= ${s}: ${s <= 1 ? 'vanishes' : 'saturation (1 - h² -> 0) holds it back'}`);
  return lines.join('\n');
}

runDemo({
  id: 'rnn',
  title: 'RNN: vanishing and exploding gradients',
  intro: `
    <p>Two vanilla RNNs, <code>h<sub>t</sub> = act(W<sub>ih</sub> x<sub>t</sub> + W<sub>hh</sub> h<sub>t-1</sub> + b)</code>,
    one with tanh and one with ReLU, learn to <b>recall the first input after T steps</b>: a value ±1 arrives at t = 1,
    then nothing, and the network must output it at t = T. The learning signal for step 1 has to travel back through
    T - 1 multiplications by W<sub>hh</sub><sup>T</sup> and the activation's slope.</p>
    <p>The slider sets W<sub>hh</sub> = s·I (or s times a random orthogonal matrix). With ReLU every backward step
    multiplies by s, so over 100 steps a factor of 2 grows like 2<sup>100</sup> ≈ 1.3·10<sup>30</sup> (exploding) and
    a factor of ½ shrinks like 2<sup>-100</sup> ≈ 7.9·10<sup>-31</sup> (vanishing). tanh bounds the activations to (-1, 1)
    and its slope 1 - h² shrinks as it saturates. <b>Clipping by global norm</b> rescales the whole gradient when its norm
    exceeds the limit, so one exploding step cannot throw the weights away. The numbers below are measured on the GPU
    every few steps (the layers keep ||dL/dh<sub>t</sub>|| over batch and units for every t).</p>`,
  controls: [
    hiddenControl(32, [8, 16, 32, 64]),
    { key: 'T', label: 'sequence length T', kind: 'select', value: 20, options: [10, 20, 30, 50, 100] },
    {
      key: 'scale',
      label: 'W_hh scale s',
      kind: 'range',
      value: 1,
      min: 0.25,
      max: 2.5,
      step: 0.05,
      live: true,
      format: (v) => `${Number(v).toFixed(2)}`,
      title: 'Re-initialises W_hh = s·I (or s·Q) in both networks, keeping the other weights',
    },
    { key: 'shape', label: 'W_hh', kind: 'select', value: 'identity', options: ['identity', 'orthogonal'] },
    { key: 'lr', label: 'learning rate (SGD)', kind: 'number', value: 0.01, min: 1e-6, max: 10, step: 'any', live: true },
    { key: 'clipOn', label: 'clip gradients', kind: 'checkbox', value: true, live: true },
    { key: 'clip', label: 'max global norm', kind: 'number', value: 1, min: 1e-6, max: 1e9, step: 'any', live: true },
    { key: 'batch', label: 'batch', kind: 'select', value: 32, options: [8, 16, 32, 64] },
  ],
  lossSeries: KINDS.map((k) => ({ label: `${k} loss`, color: COLORS[k] })),
  logLoss: true,
  viewEveryMs: 0,
  setup(page: DemoPage) {
    const prof = page.panel('Gradient norm ||dL/dh_t|| against t (last training step)', {
      help: 'Log scale. Flat: the signal reaches step 1 intact. Falling to the left: vanishing. Rising to the left: exploding.',
    });
    profilePlot = new LinePlot(prof, {
      title: '',
      xLabel: 't',
      yLabel: '||dL/dh_t||',
      logY: true,
      series: KINDS.map((k) => ({ label: k, color: COLORS[k] })),
    });
    const hist = page.panel('Gradient norm over training (all weights, before clipping)', {
      help: 'What clipping sees: with clipping on, the step actually taken has norm at most the limit.',
    });
    normPlot = new LinePlot(hist, {
      title: '',
      xLabel: 'step',
      yLabel: 'global norm',
      logY: true,
      series: KINDS.map((k) => ({ label: k, color: COLORS[k] })),
    });
    const nums = page.panel('Measured', { wide: true });
    numbersEl = document.createElement('pre');
    numbersEl.className = 'numbers';
    numbersEl.id = 'numbers';
    numbersEl.textContent = 'Press Start: the numbers appear after the first step.';
    nums.append(numbersEl);
  },
  async build(page: DemoPage) {
    const rt = page.rt;
    const v = page.values;
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
    profilePlot.clear();
    normPlot.clear();

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
      const t = Array.from({ length: T }, (_, i) => i + 1);
      profilePlot.set(t, last.map((m) => m.profile));
      normPlot.push(stepNo, last.map((m) => m.gradNorm));
      const shape = String(v.shape);
      numbersEl.textContent =
        `T = ${T}, H = ${H}, W_hh = ${scale}·${shape === 'identity' ? 'I' : 'Q'} at the last re-initialisation, ` +
        `clipping ${clip !== null ? `at global norm ${clip}` : 'off'}; after ${stepNo} steps:\n\n` +
        last.map((m, i) => describe(nets[i]!.kind, m, T, scale, shape)).join('\n\n');
      page.setOutput('measured', {
        T,
        scale,
        clip,
        nets: last.map((m, i) => ({ kind: nets[i]!.kind, loss: m.loss, gradNorm: m.gradNorm, maxH: m.maxH, perStep: Math.pow(m.profile[0]! / m.profile[T - 2]!, 1 / (T - 2)), profile: Array.from(m.profile) })),
      });
    };

    const applyInit = () => {
      nets.forEach((n, i) => n.init(scale, String(v.shape), seed + 10 * i));
      reinit = false;
    };

    let queue: Promise<void> = Promise.resolve();
    let training = false;
    return {
      async train(from: number, n: number): Promise<LossPoint[]> {
        training = true;
        await queue;
        if (reinit) applyInit();
        if (trainers.some((t) => t.step !== from)) throw new Error(`rnn demo: asked to train from step ${from}, the trainers are at ${trainers.map((t) => t.step).join(', ')}`);
        const o = await trainBoth(n);
        await measure(from + n, o);
        training = false;
        return [{ step: from + n - 1, loss: last.map((m) => m.loss) }];
      },
      update(vals: Values) {
        clip = vals.clipOn ? Number(vals.clip) : null;
        for (const t of trainers) t.update({ lr: Number(vals.lr), clip: clip ?? 0 });
        if (Number(vals.scale) !== scale) {
          scale = Number(vals.scale);
          reinit = true;
          // Paused: re-initialise now and measure one step without learning, so the plots follow the slider.
          if (!training) {
            queue = queue.then(async () => {
              applyInit();
              await measure(page.state.step, probe(page.state.step));
            });
          }
        }
      },
      destroy() {
        for (const t of trainers) t.destroy();
        for (const n of nets) n.destroy();
        for (const t of [x, y, ...norms]) t.destroy();
        for (const m of mses) m.destroy();
      },
    };
  },
});
