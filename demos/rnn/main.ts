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
 * clipping by global norm (on the GPU) is a toggle. Both train in the page's
 * worker (job.ts); this file draws the measurements the job posts back.
 */
import { LinePlot } from '../common/plot.js';
import { fmt, hiddenControl, runDemo, type DemoPage } from '../common/shell.js';
import { KINDS, rnnJob, type Kind, type Measured, type RnnView } from './job.js';

const COLORS: Record<Kind, string> = { tanh: '#1f6feb', relu: '#cf222e' };

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
  job: rnnJob,
  worker: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }),
  refreshOn: ['scale'],
  built() {
    profilePlot.clear();
    normPlot.clear();
  },
  /** Draws the job's measurement (after every chunk, and after a re-initialisation while paused). */
  show(page: DemoPage, view: unknown) {
    const m = view as RnnView | null;
    if (!m) return;
    const { T, H, scale, shape, clip, step: stepNo, nets } = m;
    const t = Array.from({ length: T }, (_, i) => i + 1);
    profilePlot.set(t, nets.map((n) => n.profile));
    normPlot.push(stepNo, nets.map((n) => n.gradNorm));
    numbersEl.textContent =
      `T = ${T}, H = ${H}, W_hh = ${scale}·${shape === 'identity' ? 'I' : 'Q'} at the last re-initialisation, ` +
      `clipping ${clip !== null ? `at global norm ${clip}` : 'off'}; after ${stepNo} steps:\n\n` +
      nets.map((n) => describe(n.kind, n, T, scale, shape)).join('\n\n');
    page.setOutput('measured', {
      T,
      scale,
      clip,
      nets: nets.map((n) => ({ kind: n.kind, loss: n.loss, gradNorm: n.gradNorm, maxH: n.maxH, perStep: Math.pow(n.profile[0]! / n.profile[T - 2]!, 1 / (T - 2)), profile: Array.from(n.profile) })),
    });
  },
});
