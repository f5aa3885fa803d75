// A call refused by validation (here: an input tensor from another runtime)
// must leave the layer as it was: the next valid call works and gives the
// same result as if the refused call had never happened.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CrossEntropyLoss, Dropout, Embedding, GRU, LSTM, Linear, MSELoss, ReLU, WaveNet, createRuntime, type Runtime } from '../src/index.js';

let rt: Runtime;
let other: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
  other = await createRuntime({ quiet: true });
});
afterAll(() => {
  rt?.destroy();
  other?.destroy();
});

const vals = (n: number, k = 1) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + k) * 0.5);

describe('a rejected call leaves the object usable', () => {
  for (const [cell, Ctor] of [['LSTM', LSTM], ['GRU', GRU]] as const) {
    for (const kernel of ['step', 'sequence', 'gemm'] as const) {
      it(`${cell} (${kernel}): forward and backward with a foreign input throw, then the same call works`, async () => {
        const [T, B, I, H] = [3, 2, 4, 5];
        const layer = new Ctor(rt, { inputSize: I, hiddenSize: H, numLayers: 2, seed: 7, kernel });
        const x = rt.tensor(vals(T * B * I), [T, B, I], 'x');
        const dy = rt.tensor(vals(T * B * H, 2), [T, B, H], 'dy');
        const ref = await layer.forward(x).output.read();
        const x2 = rt.tensor(vals(T * B * I, 3), [T, B, I], 'x2');
        const ref2 = await layer.forward(x2).output.read(); // the plan is now bound to x2
        const foreign = other.tensor(vals(T * B * I), [T, B, I], 'foreign');
        expect(() => layer.forward(foreign)).toThrow(/forward.*foreign.*another runtime/);
        // The input the plan was bound to before the refused call: no rebinding, the old bindings stand.
        expect(Array.from(await layer.forward(x2).output.read())).toEqual(Array.from(ref2));
        expect(Array.from(await layer.forward(x).output.read())).toEqual(Array.from(ref));
        layer.zeroGrad();
        const dx = await layer.backward(dy).dx.read();
        expect(() => layer.backward(other.tensor(vals(T * B * H), [T, B, H], 'foreignDy'))).toThrow(/foreignDy/);
        expect(Array.from(await layer.forward(x).output.read())).toEqual(Array.from(ref));
        expect(Array.from(await layer.backward(dy).dx.read())).toEqual(Array.from(dx));
        layer.destroy();
      });
    }
  }

  it('Linear and Embedding: a foreign input is refused before anything changes', async () => {
    const lin = new Linear(rt, { inFeatures: 3, outFeatures: 2, seed: 1 });
    const x = rt.tensor(vals(6), [2, 3], 'x');
    const y = await lin.forward(x).read();
    expect(() => lin.forward(other.tensor(vals(9), [3, 3], 'foreign'))).toThrow(/Linear\.forward.*foreign.*another runtime/);
    const dx = await lin.backward(rt.tensor(vals(4), [2, 2])).read(); // backward of the forward of x
    expect(dx.length).toBe(6);
    expect(Array.from(await lin.forward(x).read())).toEqual(Array.from(y));
    const emb = new Embedding(rt, { numEmbeddings: 4, embeddingDim: 3, seed: 2 });
    const idx = rt.tensor([0, 3, 1], [3], 'idx');
    const e = await emb.forward(idx).read();
    expect(() => emb.forward(other.tensor([1, 2], [2], 'foreignIdx'))).toThrow(/Embedding\.forward.*foreignIdx.*another runtime/);
    expect(Array.from(await emb.forward(idx).read())).toEqual(Array.from(e));
    lin.destroy();
    emb.destroy();
  });

  it('Dropout and ReLU: a foreign input changes neither the dropout counter nor the saved input', async () => {
    const drop = new Dropout(rt, 0.5, 9);
    const relu = new ReLU(rt);
    const x = rt.tensor(vals(8), [8], 'x');
    const y = await drop.forward(x).read();
    const counter = await drop.dropoutCounter.read();
    drop.forward(x);
    const y2 = await drop.backward(rt.tensor(vals(8, 5), [8])).read();
    expect(() => drop.forward(other.tensor(vals(8), [8], 'foreign'))).toThrow('Dropout.forward: x (foreign) belongs to another runtime');
    expect(Array.from(await drop.dropoutCounter.read())).toEqual([counter[0]! + 1]);
    expect(Array.from(await drop.backward(rt.tensor(vals(8, 5), [8])).read())).toEqual(Array.from(y2));
    expect(y.length).toBe(8);
    const r = await relu.forward(x).read();
    expect(() => relu.forward(other.tensor(vals(8), [8], 'foreign'))).toThrow('ReLU.forward: x (foreign) belongs to another runtime');
    const dx = await relu.backward(rt.tensor(vals(8, 2), [8])).read(); // against the saved x, not the foreign one
    expect(Array.from(dx)).toEqual(Array.from(vals(8, 2)).map((v, i) => (vals(8)[i]! > 0 ? v : 0)));
    expect(r.length).toBe(8);
    drop.destroy();
    relu.destroy();
  });

  it('WaveNet: a foreign x or cond is refused, the next forward/backward work', async () => {
    const net = new WaveNet(rt, { inChannels: 2, residualChannels: 4, dilationChannels: 4, skipChannels: 4, outChannels: 2, dilations: [1, 2], seed: 3 });
    const x = rt.tensor(vals(2 * 2 * 5), [2, 2, 5], 'x');
    const dy = rt.tensor(vals(2 * 2 * 5, 4), [2, 2, 5], 'dy');
    const y = await net.forward(x).output.read();
    expect(() => net.forward(other.tensor(vals(2 * 2 * 6), [2, 2, 6], 'foreignX'))).toThrow(/WaveNet\.forward.*foreignX.*another runtime/);
    net.zeroGrad();
    const dx = await net.backward(dy).dx.read(); // still the backward of x's forward
    expect(() => net.backward(other.tensor(vals(20), [2, 2, 5], 'foreignDy'))).toThrow(/WaveNet\.backward.*foreignDy.*another runtime/);
    expect(Array.from(await net.forward(x).output.read())).toEqual(Array.from(y));
    expect(Array.from(await net.backward(dy).dx.read())).toEqual(Array.from(dx));
    net.destroy();
  });

  it('losses: foreign logits / targets / masks are refused', async () => {
    const ce = new CrossEntropyLoss(rt);
    const logits = rt.tensor(vals(6), [2, 3], 'logits');
    const t = rt.tensor([0, 2], [2], 't');
    const l1 = await ce.forward(logits, t).loss.read();
    expect(() => ce.forward(logits, other.tensor([0, 1], [2], 'foreignT'))).toThrow(/CrossEntropyLoss\.forward.*foreignT.*another runtime/);
    expect(Array.from(await ce.forward(logits, t).loss.read())).toEqual(Array.from(l1));
    const mse = new MSELoss(rt);
    expect(() => mse.forward(logits, other.tensor(vals(6), [2, 3], 'foreignTarget'))).toThrow(/MSELoss\.forward.*foreignTarget.*another runtime/);
    expect((await mse.forward(logits, logits).loss.read())[0]).toBe(0);
    ce.destroy();
    mse.destroy();
  });
});
