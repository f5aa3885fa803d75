/**
 * What a consumer of the published package writes (test/consumer.test.ts
 * copies this folder into fresh projects that install the packed tarball):
 * an LSTM + Linear trained five Adam steps on a fixed next-value task, then a
 * checkpoint saved, stored (`store`: files in Node, IndexedDB in a page) and
 * loaded into a fresh model.
 */
import { Adam, LSTM, Linear, Sequential, Trainer, type Runtime, type TrainData } from 'webgpu-rnn';

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
  const model = new Sequential(new LSTM(rt, { inputSize: I, hiddenSize: H, seed: 1 }), new Linear(rt, { inFeatures: H, outFeatures: 1, seed: 2 }));
  const trainer = new Trainer(model, { loss: 'mse', optimizer: new Adam(model.parameters(), { lr: 0.02 }), clip: 1, logEvery: 1 });
  return { model, trainer };
}

/** The same batch every step: x [T, B, I], y [T, B, 1]. */
const data: TrainData = {
  xShape: [T, B, I],
  yShape: [T, B, 1],
  batch(_step, x, y) {
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.7);
    for (let i = 0; i < y.length; i++) y[i] = 0.5 * Math.cos(i * 0.3);
  },
};

export async function trainFive(rt: Runtime, store: (bytes: Uint8Array) => Promise<Uint8Array>): Promise<TrainResult> {
  const { model, trainer } = build(rt);
  const { losses } = await trainer.fit(data, { steps: 5 });
  const bytes = await store(await trainer.saveCheckpoint());
  const fresh = build(rt);
  const { step } = await fresh.trainer.loadCheckpoint(bytes);
  let restoreDiff = 0;
  const [a, b] = [await model.stateDict(), await fresh.model.stateDict()];
  for (const [k, v] of Object.entries(a)) v.forEach((e, i) => (restoreDiff = Math.max(restoreDiff, Math.abs(e - b[k]![i]!))));
  return { losses: losses.map((l) => l.loss), checkpointBytes: bytes.byteLength, restoredStep: step, restoreDiff };
}
