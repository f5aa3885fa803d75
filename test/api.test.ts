/** The README's recurrent-layer example, as written, must work. */
import { expect, it } from 'vitest';
import { createRuntime, LSTM, Tensor } from '../src/index.js';

it('README example: LSTM forward, backward, grads, read', async () => {
  const [T, B, I] = [5, 3, 32];
  const x = Float32Array.from({ length: T * B * I }, (_, i) => Math.sin(i));

  const rt = await createRuntime({ quiet: true });
  const lstm = new LSTM(rt, { inputSize: 32, hiddenSize: 128, numLayers: 2 });
  const dict = await lstm.stateDict(); //                      PyTorch names: weight_ih_l0 [512, 32], ...
  lstm.loadStateDict(dict);
  const { output, h, c } = lstm.forward(rt.tensor(x, [T, B, I]));
  lstm.zeroGrad();
  const dOutput = rt.tensor(new Float32Array(T * B * 128).fill(0.01), [T, B, 128]);
  const { dx, dh0, dc0 } = lstm.backward(dOutput);
  const grads = await lstm.grads();
  const y = await output.read();

  expect(output).toBeInstanceOf(Tensor);
  expect(output.shape).toEqual([T, B, 128]);
  expect(h.shape).toEqual([2, B, 128]);
  expect(c!.shape).toEqual([2, B, 128]);
  expect(dx.shape).toEqual([T, B, I]);
  expect(dh0.shape).toEqual([2, B, 128]);
  expect(dc0!.shape).toEqual([2, B, 128]);
  expect(Object.keys(grads)).toEqual(Object.keys(dict));
  expect(grads.weight_hh_l1!.length).toBe(512 * 128);
  expect(y.length).toBe(T * B * 128);
  expect(y.every(Number.isFinite)).toBe(true);
  expect(Math.max(...y.map(Math.abs))).toBeGreaterThan(0.01); // an LSTM output, not zeros
  rt.destroy();
});

it('parameters(): names, values and gradients of every module, as named_parameters()', async () => {
  const { createRuntime, SequenceToSequence, WaveNet, Linear } = await import('../src/index.js');
  const rt = await createRuntime({ quiet: true });
  const lin = new Linear(rt, { inFeatures: 3, outFeatures: 2, seed: 1 });
  expect(lin.parameters().map((p) => [p.name, p.value.shape, p.grad.shape])).toEqual([
    ['weight', [2, 3], [2, 3]],
    ['bias', [2], [2]],
  ]);
  const m = new SequenceToSequence(rt, { input: 'embedding', inputSize: 5, embeddingDim: 4, cell: 'gru', hiddenSize: 6, outputSize: 5, seed: 1 });
  const names = m.parameters().map((p) => p.name);
  expect(names).toEqual(Object.keys(await m.stateDict()));
  expect(names).toContain('rnn.weight_hh_l0');
  expect(names).toContain('embedding.weight');
  // The recurrent path: the adapter's choice, or the model's `kernel` option passed to its layer.
  expect(m.rnn.path).toBe(rt.isCpu ? 'gemm' : 'sequence');
  for (const kernel of ['step', 'sequence', 'gemm'] as const) {
    expect(new SequenceToSequence(rt, { input: 'dense', inputSize: 2, cell: 'lstm', hiddenSize: 4, outputSize: 1, seed: 1, kernel }).rnn.path).toBe(kernel);
  }
  const net = new WaveNet(rt, { inChannels: 1, residualChannels: 2, dilationChannels: 2, skipChannels: 2, outChannels: 1, dilations: [1], seed: 1 });
  expect(net.parameters()[0]!.name).toBe('input.weight');
  rt.destroy();
});
