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
 * model.parameters(): the sequence of the Trainer's step (src/train/trainer.ts), recorded
 * here into one `rt.step` of its own so that the bench counts exactly one
 * step's dispatches and times it without the Trainer's per-step upload and
 * loss read-back (the data stays on the GPU, the loss is read once at the end).
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

/** Wires loss, clipping and one Adam over the model's parameters around a Module and returns the trainer. */
function finish(lib, rt, model, lossFn, record, inputs) {
  const opt = new lib.Adam(model.parameters(), { lr: LR, eps: EPS });
  const grads = model.gradientArenas();
  const norm = rt.zeros([1], 'train.norm');
  let loss = null;
  return {
    model,
    step() {
      return rt.step(() => {
        model.zeroGrad();
        loss = record(lossFn);
        lib.clipGradNorm(rt, grads, MAX_NORM, norm);
        opt.step();
      });
    },
    /** The last step's mean loss and gradient norm (before clipping). */
    async read() {
      return { loss: (await loss.read())[0], norm: (await norm.read())[0] };
    },
    destroy() {
      rt.submit();
      lossFn.destroy();
      opt.destroy();
      for (const t of [norm, ...inputs]) t.buffer.destroy();
      model.destroy();
    },
  };
}

export function recurrentTrainer(lib, rt, cell, data, stateDict) {
  const { B, T, I, H } = REC;
  const model = new lib.SequenceToSequence(rt, { input: 'dense', inputSize: I, cell, hiddenSize: H, outputSize: 1, seed: 1 });
  if (cell === 'gru') {
    model.rnn.destroy();
    Object.defineProperty(model, 'rnn', { value: new lib.GRU(rt, { inputSize: I, hiddenSize: H, resetAfter: false, seed: 3 }), writable: false, configurable: true });
  }
  if (stateDict) model.loadStateDict(stateDict);
  const x = rt.tensor(data.x, [T, B, I], 'train.x');
  const y = rt.tensor(data.y, [T, B, 1], 'train.y');
  return finish(lib, rt, model, new lib.MSELoss(rt), (mse) => {
    const { logits } = model.forward(x); // [T, B, 1]
    const l = mse.forward(logits, y);
    model.backward(l.grad);
    return l.loss;
  }, [x, y]);
}

export function wavenetTrainer(lib, rt, data, stateDict) {
  const { B, T, CH, OUT, DIL, STACKS, KS } = WN;
  const net = new lib.WaveNet(rt, {
    inChannels: 1, residualChannels: CH, dilationChannels: CH, skipChannels: CH, outChannels: OUT,
    dilations: DIL, stacks: STACKS, kernelSize: KS, seed: 7,
  });
  if (stateDict) net.loadStateDict(stateDict);
  const x = rt.tensor(data.x, [B, 1, T], 'train.x');
  const tgt = rt.tensor(data.targets, [B * T], 'train.targets');
  return finish(lib, rt, net, new lib.CrossEntropyLoss(rt, { classDim: 1 }), (ce) => {
    const { output } = net.forward(x); // [B, 256, T]
    const l = ce.forward(output, tgt);
    net.backward(l.grad);
    return l.loss;
  }, [x, tgt]);
}

/** The trainer for one of MODELS, from its own seeded weights or `stateDict`. */
export function makeTrainer(lib, rt, cell, stateDict) {
  return cell === 'wavenet' ? wavenetTrainer(lib, rt, wavenetData(), stateDict) : recurrentTrainer(lib, rt, cell, recurrentData(), stateDict);
}
