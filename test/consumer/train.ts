/**
 * What a consumer of the published package writes (test/consumer.test.ts
 * copies this folder into fresh projects that install the packed tarball):
 * an LSTM + Linear trained five Adam steps on a fixed next-value task, then a
 * checkpoint saved, stored (`store`: files in Node, IndexedDB in a page) and
 * loaded into a fresh model.
 */
import { Adam, LSTM, Linear, MSELoss, clipGradNorm, loadCheckpoint, saveCheckpoint, type Runtime, type Tensor } from 'webgpu-rnn';

export interface TrainResult {
  losses: number[];
  checkpointBytes: number;
  restoredStep: number;
  /** Largest |difference| between the trained and the restored parameters (0: bit-identical). */
  restoreDiff: number;
}

const T = 6;
const B = 4;
const I = 3;
const H = 8;

function build(rt: Runtime) {
  const lstm = new LSTM(rt, { inputSize: I, hiddenSize: H, seed: 1 });
  const head = new Linear(rt, { inFeatures: H, outFeatures: 1, seed: 2 });
  const optimizers = [new Adam(rt, lstm.params, lstm.gradients, { lr: 0.02 }), new Adam(rt, head.params, head.gradients, { lr: 0.02 })];
  return { lstm, head, optimizers, model: { modules: { lstm, head } } };
}

export async function trainFive(rt: Runtime, store: (bytes: Uint8Array) => Promise<Uint8Array>): Promise<TrainResult> {
  const { lstm, head, optimizers, model } = build(rt);
  const mse = new MSELoss(rt);
  const x = rt.tensor(Float32Array.from({ length: T * B * I }, (_, i) => Math.sin(i * 0.7)), [T, B, I], 'x');
  const y = rt.tensor(Float32Array.from({ length: T * B }, (_, i) => 0.5 * Math.cos(i * 0.3)), [T * B, 1], 'y');
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    let loss: Tensor | undefined;
    rt.step(() => {
      lstm.zeroGrad();
      head.zeroGrad();
      const { output } = lstm.forward(x);
      const pred = head.forward(output.reshape([T * B, H]));
      const r = mse.forward(pred, y);
      const dOutput = head.backward(r.grad);
      lstm.backward(dOutput.reshape([T, B, H]));
      clipGradNorm(rt, [lstm.gradients, head.gradients], 1);
      for (const o of optimizers) o.step();
      loss = r.loss;
    });
    losses.push((await loss!.read())[0]!);
  }
  const bytes = await store(await saveCheckpoint(model, optimizers, { step: 5 }));
  const fresh = build(rt);
  const { step } = await loadCheckpoint(bytes, fresh.model, fresh.optimizers);
  let restoreDiff = 0;
  for (const name of ['lstm', 'head'] as const) {
    const a = await model.modules[name].stateDict();
    const b = await fresh.model.modules[name].stateDict();
    for (const [k, v] of Object.entries(a)) v.forEach((e, i) => (restoreDiff = Math.max(restoreDiff, Math.abs(e - b[k]![i]!))));
  }
  return { losses, checkpointBytes: bytes.byteLength, restoredStep: step, restoreDiff };
}
