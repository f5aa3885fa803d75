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
