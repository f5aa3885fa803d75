/**
 * Real PyTorch as the reference: torch-initialised nn.RNN / nn.LSTM / nn.GRU
 * state dicts load into our layers and give torch's outputs, final states and
 * gradients; checkpoints written here load into torch modules
 * (load_state_dict(strict=True)) and give the same logits, and torch's state
 * dicts load here. The Python side is test/torch/*.py and tools/torch/*.py;
 * files travel as safetensors in a temp dir.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GRU, LSTM, RNN, createRuntime, type Recurrent, type Runtime, type Tensor } from '../src/index.js';
import { expectClose, freshSeed } from './suite/check.js';
import { describeTorch, maxDiff, python, readTensors, tempDir } from './torch/harness.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
/** Per case: the largest max |diff| and the largest relative figure (max |diff| / max |torch|) over its tensors. */
const report = new Map<string, { abs: number; rel: number; n: number }>();
afterAll(() => {
  const lines = [...report].map(([k, r]) => `  ${k.padEnd(34)} ${String(r.n).padStart(3)} tensors  max|diff| ${r.abs.toExponential(2)}  rel ${r.rel.toExponential(2)}`);
  if (lines.length) console.log(`torch comparisons (seed ${seed}):\n${lines.join('\n')}`);
});

/** Compares and records max |diff| (absolute, and relative to max |torch|). */
function close(what: string, ours: ArrayLike<number>, theirs: ArrayLike<number>, tol: { atol: number; rtol: number }): void {
  const d = maxDiff(ours, theirs);
  const key = what.split(' ')[0]!;
  const r = report.get(key) ?? { abs: 0, rel: 0, n: 0 };
  report.set(key, { abs: Math.max(r.abs, d.abs), rel: Math.max(r.rel, d.rel), n: r.n + 1 });
  expect(d.ref, `${what}: torch's values are all zero (nothing to compare)`).toBeGreaterThan(0);
  expectClose(what, ours, theirs, tol, seed);
}

interface LayerCase {
  name: string;
  cell: 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru';
  I: number;
  H: number;
  L: number;
  T: number;
  B: number;
  bidirectional: boolean;
  batch_first: boolean;
}

const layerCases: LayerCase[] = [
  { name: 'rnn_tanh_l2_bi', cell: 'rnn_tanh', I: 5, H: 6, L: 2, T: 5, B: 3, bidirectional: true, batch_first: false },
  { name: 'rnn_relu_l2', cell: 'rnn_relu', I: 4, H: 7, L: 2, T: 6, B: 3, bidirectional: false, batch_first: false },
  { name: 'lstm_l2_bi_batch_first', cell: 'lstm', I: 5, H: 8, L: 2, T: 5, B: 3, bidirectional: true, batch_first: true },
  { name: 'lstm_l1_h33', cell: 'lstm', I: 9, H: 33, L: 1, T: 7, B: 2, bidirectional: false, batch_first: false },
  { name: 'gru_l2_bi', cell: 'gru', I: 6, H: 5, L: 2, T: 5, B: 2, bidirectional: true, batch_first: false },
  { name: 'gru_l3', cell: 'gru', I: 3, H: 12, L: 3, T: 4, B: 4, bidirectional: false, batch_first: false },
];

function makeLayer(c: LayerCase): Recurrent {
  const o = { inputSize: c.I, hiddenSize: c.H, numLayers: c.L, bidirectional: c.bidirectional, batchFirst: c.batch_first, seed: 1 };
  if (c.cell === 'lstm') return new LSTM(rt, o);
  if (c.cell === 'gru') return new GRU(rt, o);
  return new RNN(rt, { ...o, nonlinearity: c.cell === 'rnn_relu' ? 'relu' : 'tanh' });
}

/*
 * Tolerance of the layer comparisons: torch computes in float64 from the same
 * float32 parameters and inputs; our kernels compute in float32, so each
 * value carries the rounding of sums over I or H terms, compounded over T
 * steps and L layers (and back again for the gradients). Measured on
 * SwiftShader: max |diff| <= 6e-7 with values of O(1) (1e-7 to 4e-7 of the
 * largest |value|). 3e-6 absolute + 3e-5 relative is 5x that, for other seeds
 * and for GPUs that contract to fma or sum in another order, and still fails
 * a wrong formula, gate order or index by orders of magnitude (such errors
 * are >= 1e-2 here).
 */
const LAYER_TOL = { atol: 3e-6, rtol: 3e-5 };

describeTorch('PyTorch: nn.RNN / nn.LSTM / nn.GRU state dicts give torch\'s outputs, states and gradients', () => {
  const dir = tempDir('torch-layers');
  beforeAll(() => {
    const cases = layerCases.map((c, i) => ({ ...c, seed: (seed + i * 7919) % 2 ** 31 }));
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
    python('test/torch/recurrent.py', [join(dir, 'cases.json'), dir]);
  }, 120_000);

  for (const c of layerCases) {
    it(c.name, async () => {
      const f = readTensors(join(dir, `${c.name}.safetensors`));
      const layer = makeLayer(c);
      const params: Record<string, Float32Array> = {};
      for (const [k, v] of Object.entries(f.t)) if (k.startsWith('param.')) params[k.slice(6)] = v;
      layer.loadStateDict(params);
      const up = (k: string): Tensor | undefined => (f.t[k] ? rt.tensor(f.t[k]!, f.shape[k]!) : undefined);
      const [x, h0, c0, dout, dh, dc] = ['x', 'h0', 'c0', 'dout', 'dh', 'dc'].map(up) as Tensor[];
      const lstm = c.cell === 'lstm';
      let res!: ReturnType<Recurrent['forward']>;
      let back!: ReturnType<Recurrent['backward']>;
      rt.step(() => {
        layer.zeroGrad();
        res = layer.forward(x!, lstm ? { h0, c0 } : { h0 });
        back = layer.backward(dout!, lstm ? { dh, dc } : { dh });
      });
      close(`${c.name} output`, await res.output.read(), f.f64.out!, LAYER_TOL);
      close(`${c.name} h_n`, await res.h.read(), f.f64.h_n!, LAYER_TOL);
      if (lstm) close(`${c.name} c_n`, await res.c!.read(), f.f64.c_n!, LAYER_TOL);
      close(`${c.name} dx`, await back.dx.read(), f.f64.dx!, LAYER_TOL);
      close(`${c.name} dh0`, await back.dh0.read(), f.f64.dh0!, LAYER_TOL);
      if (lstm) close(`${c.name} dc0`, await back.dc0!.read(), f.f64.dc0!, LAYER_TOL);
      const grads = await layer.grads();
      expect(Object.keys(grads).sort()).toEqual(Object.keys(params).sort());
      for (const [k, g] of Object.entries(grads)) close(`${c.name} grad ${k}`, g, f.f64[`grad.${k}`]!, LAYER_TOL);
      for (const t of [x, h0, c0, dout, dh, dc]) t?.destroy();
      layer.destroy();
    });
  }
});
