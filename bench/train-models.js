/**
 * The full training steps of bench/train, shared by the browser page
 * (bench/train.ts, the library from src through Vite) and the Node script
 * (bench/train-node.mjs, the built library dist/index.js on Dawn): the same
 * models, data, loss, clipping and optimizer, recorded into one `rt.step`.
 * Plain JS so that Node 20 runs it; types in train-models.d.ts.
 *
 * Recurrent (LSTM, GRU, RNN): SequenceToSequence({ input: 'dense' }),
 * B=32 T=64 I=32 H=128, one layer, a dense head H -> 1 at every step, MSELoss
 * against a random target. The GRU is reset_after=False (TF.js supports only
 * that variant): SequenceToSequence builds PyTorch's reset_after=True GRU, so
 * its `rnn` is replaced by `new GRU(rt, { resetAfter: false })` (same
 * parameter names and shapes; the models' own code paths are unchanged).
 * WaveNet: B=16 T=256, 32 channels, dilations 1,2,4,8 x 2 stacks, kernel 2,
 * 256 classes, CrossEntropyLoss({ classDim: 1 }) against random classes.
 * Both: zeroGrad, forward, loss (forward and gradient), backward,
 * clipGradNorm(all gradient arenas, MAX_NORM), one Adam(lr LR, eps 1e-8) over
 * model.parameters(): the library's Trainer, one `trainer.runStep(data)` per
 * step (the batch uploaded, one submit, nothing read back: the loss is read
 * once at the end), so the bench times the training loop users run.
 */

export const REC = { B: 32, T: 64, I: 32, H: 128 };
export const WN = { B: 16, T: 256, CH: 32, OUT: 256, DIL: [1, 2, 4, 8], STACKS: 2, KS: 2 };
export const LR = 1e-3;
export const EPS = 1e-8;
/** Below every model's initial gradient norm (about 1 for the recurrent ones, 0.055 for the WaveNet): clipping is active. */
export const MAX_NORM = 0.05;

export const MODELS = [
  { name: 'LSTM', cell: 'lstm' },
  { name: 'GRU (reset_after=False)', cell: 'gru' },
  { name: 'RNN (tanh)', cell: 'rnn' },
  { name: 'WaveNet', cell: 'wavenet' },
];

/** Deterministic data in [-1, 1) (the LCG of bench/common.ts). */
export function randomData(n, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** x [T, B, I], y [T, B, 1] (time-major, ours). */
export function recurrentData() {
  const { B, T, I } = REC;
  return { x: randomData(T * B * I, 1), y: randomData(T * B, 2) };
}

/** x [B, 1, T] in [-1, 1), targets [B*T] (rows b*T + t) in 0..255. */
export function wavenetData() {
  const { B, T, OUT } = WN;
  const N = B * T;
  const targets = new Float32Array(N);
  const r = randomData(N, 2);
  for (let i = 0; i < N; i++) targets[i] = Math.min(OUT - 1, Math.floor(((r[i] + 1) / 2) * OUT));
  return { x: randomData(N, 1), targets };
}

/** A Trainer (MSE or cross-entropy, clipping, one Adam over the model's parameters) stepping on fixed data. */
function finish(lib, model, loss, data, extra = {}) {
  const opt = new lib.Adam(model.parameters(), { lr: LR, eps: EPS });
  const trainer = new lib.Trainer(model, { loss, optimizer: opt, clip: MAX_NORM, ...extra });
  return {
    model,
    step() {
      return trainer.runStep(data);
    },
    /** The last step's mean loss and gradient norm (before clipping). */
    async read() {
      const r = await trainer.lastLoss();
      return { loss: r.loss, norm: r.gradNorm };
    },
    destroy() {
      trainer.destroy();
      opt.destroy();
      model.destroy();
    },
  };
}

/** A TrainData giving the same batch every step. */
const fixed = (xShape, yShape, x, y) => ({
  xShape,
  yShape,
  batch(_step, xs, ys) {
    xs.set(x);
    ys.set(y);
  },
});

export function recurrentTrainer(lib, rt, cell, data, stateDict) {
  const { B, T, I, H } = REC;
  const model = new lib.SequenceToSequence(rt, { input: 'dense', inputSize: I, cell, hiddenSize: H, outputSize: 1, seed: 1 });
  if (cell === 'gru') {
    model.rnn.destroy();
    Object.defineProperty(model, 'rnn', { value: new lib.GRU(rt, { inputSize: I, hiddenSize: H, resetAfter: false, seed: 3 }), writable: false, configurable: true });
  }
  if (stateDict) model.loadStateDict(stateDict);
  return finish(lib, model, 'mse', fixed([T, B, I], [T, B, 1], data.x, data.y));
}

export function wavenetTrainer(lib, rt, data, stateDict) {
  const { B, T, CH, OUT, DIL, STACKS, KS } = WN;
  const net = new lib.WaveNet(rt, {
    inChannels: 1, residualChannels: CH, dilationChannels: CH, skipChannels: CH, outChannels: OUT,
    dilations: DIL, stacks: STACKS, kernelSize: KS, seed: 7,
  });
  if (stateDict) net.loadStateDict(stateDict);
  return finish(lib, net, 'cross_entropy', fixed([B, 1, T], [B * T], data.x, data.targets), { classDim: 1 });
}

/** The trainer for one of MODELS, from its own seeded weights or `stateDict`. */
export function makeTrainer(lib, rt, cell, stateDict) {
  return cell === 'wavenet' ? wavenetTrainer(lib, rt, wavenetData(), stateDict) : recurrentTrainer(lib, rt, cell, recurrentData(), stateDict);
}
