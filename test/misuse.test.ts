// Misuse refused at once, with the argument, the expected and the actual value:
// destroyed tensors, non-numeric or non-finite state dicts, seeds past 2^32.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Dropout, Embedding, LSTM, Linear, SequenceToSequence, WaveNet, createRuntime, fill, pickTokens, type Runtime } from '../src/index.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('a destroyed tensor is refused at once, by name', () => {
  it('write, read, copy, bind and a dispatch bound before the destroy', async () => {
    const t = rt.tensor([1, 2, 3, 4], [4], 'myWeights');
    const other = rt.zeros([4], 'other');
    const d = rt.bind({ name: 'fill', shader: 'elementwise', entry: 'fill', overrides: { WG: 64 }, grid: (p: Record<string, number>) => [Math.ceil(p.n! / 64)] } as never, { y: t } as never, { n: 4, alpha: 0 } as never);
    t.destroy();
    expect(() => t.write([0, 0, 0, 0])).toThrow('write: myWeights was destroyed');
    await expect(t.read()).rejects.toThrow('read: myWeights was destroyed');
    expect(() => rt.copy(t, other)).toThrow('copy: myWeights was destroyed');
    expect(() => fill(rt, t, 1)).toThrow(/binding 'y': myWeights was destroyed/);
    expect(() => rt.run(d)).toThrow(/myWeights was destroyed/);
    await rt.sync(); // nothing reached the GPU
    other.destroy();
  });

  it("a layer's outputs and parameters after its destroy; a destroyed input to forward", async () => {
    const lstm = new LSTM(rt, { inputSize: 2, hiddenSize: 3, seed: 1 });
    const x = rt.tensor(new Float32Array(2 * 1 * 2).fill(0.25), [2, 1, 2], 'x');
    const { output } = lstm.forward(x);
    await output.read();
    const w = lstm.params.tensors.weight_ih_l0!;
    lstm.destroy();
    await expect(output.read()).rejects.toThrow(/LSTM\.act0\.out was destroyed/);
    await expect(w.read()).rejects.toThrow(/LSTM\.params\.weight_ih_l0 was destroyed/);
    const lstm2 = new LSTM(rt, { inputSize: 2, hiddenSize: 3, seed: 1 });
    x.destroy();
    expect(() => lstm2.forward(x)).toThrow('LSTM.forward: x: x was destroyed (its buffer is freed); it cannot be used');
    lstm2.destroy();
  });
});

describe('loadStateDict refuses non-numeric and non-finite values, leaving the parameters as they were', () => {
  it('strings, objects, arrays with non-numbers, NaN / Infinity in a Float32Array', async () => {
    const lin = new Linear(rt, { inFeatures: 2, outFeatures: 2, seed: 3 });
    const before = await lin.stateDict();
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [{ weight: 'abcd', bias: [0, 0] }, "Linear.loadStateDict: 'weight' must be a Float32Array, an array of numbers, a Tensor or { shape, data } of [2, 2] (4 values), got string"],
      [{ weight: { length: 4 }, bias: [0, 0] }, "Linear.loadStateDict: 'weight' must be a Float32Array, an array of numbers, a Tensor or { shape, data } of [2, 2] (4 values), got object"],
      [{ weight: [1, 2, '3', 4], bias: [0, 0] }, "Linear.loadStateDict: 'weight'[2] must be a finite number, got 3"],
      [{ weight: new Float32Array([1, 2, 3, 4]), bias: new Float32Array([0, NaN]) }, "Linear.loadStateDict: 'bias'[1] must be a finite number, got NaN"],
      [{ weight: new Float32Array([1, -Infinity, 3, 4]), bias: [0, 0] }, "Linear.loadStateDict: 'weight'[1] must be a finite number, got -Infinity"],
      [{ weight: new BigInt64Array(4), bias: [0, 0] }, /got BigInt64Array/],
    ];
    for (const [dict, msg] of cases) expect(() => lin.loadStateDict(dict as never)).toThrow(msg);
    const after = await lin.stateDict();
    for (const k of Object.keys(before)) expect(bits(after[k]!)).toEqual(bits(before[k]!));
    lin.loadStateDict({ weight: new Float64Array([1, 2, 3, 4]), bias: [5, 6] }); // other numeric arrays are fine
    expect(Array.from((await lin.stateDict()).bias!)).toEqual([5, 6]);
    lin.destroy();
  });

  it("a model's dict with one bad entry in a later module changes no module", async () => {
    const m = new SequenceToSequence(rt, { input: 'embedding', inputSize: 5, embeddingDim: 4, cell: 'gru', hiddenSize: 6, outputSize: 5, seed: 1 });
    const before = await m.stateDict();
    const dict: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(before)) dict[k] = v.map(() => 0.5);
    const last = Object.keys(dict).at(-1)!;
    dict[last]![0] = NaN;
    expect(() => m.loadStateDict(dict)).toThrow(`'${last}'[0] must be a finite number, got NaN`);
    const after = await m.stateDict();
    for (const k of Object.keys(before)) expect(bits(after[k]!), k).toEqual(bits(before[k]!));
    m.destroy();
  });
});

describe('seeds past 2^32 are refused (they would alias seed mod 2^32)', () => {
  const over = 2 ** 32 + 5;
  it('layer and model seeds, dropoutSeed', () => {
    expect(() => new LSTM(rt, { inputSize: 2, hiddenSize: 2, seed: over })).toThrow(`LSTM: seed must be an integer in [0, 2^32), got ${over}`);
    expect(() => new Linear(rt, { inFeatures: 2, outFeatures: 2, seed: -1 })).toThrow('Linear: seed must be an integer in [0, 2^32), got -1');
    expect(() => new Embedding(rt, { numEmbeddings: 2, embeddingDim: 2, seed: 1.5 })).toThrow('Embedding: seed must be an integer in [0, 2^32), got 1.5');
    expect(() => new Dropout(rt, 0.1, over)).toThrow(`Dropout: seed must be an integer in [0, 2^32), got ${over}`);
    expect(() => new WaveNet(rt, { inChannels: 1, residualChannels: 2, dilationChannels: 2, skipChannels: 2, outChannels: 1, seed: 2 ** 32 })).toThrow('WaveNet: seed must be an integer in [0, 2^32), got 4294967296');
    expect(() => new SequenceToSequence(rt, { input: 'embedding', inputSize: 5, cell: 'lstm', hiddenSize: 4, outputSize: 5, seed: over })).toThrow(`SequenceToSequence: seed must be an integer in [0, 2^32), got ${over}`);
    // The largest seed is fine: the submodules' derived seeds wrap instead of overflowing.
    new SequenceToSequence(rt, { input: 'embedding', inputSize: 5, cell: 'lstm', hiddenSize: 4, outputSize: 5, seed: 2 ** 32 - 1 }).destroy();
    const lstm = new LSTM(rt, { inputSize: 2, hiddenSize: 2, seed: 2 ** 32 - 1 });
    expect(() => (lstm.dropoutSeed = over)).toThrow(`LSTM: dropoutSeed must be an integer in [0, 2^32), got ${over}`);
    expect(lstm.dropoutSeed).toBe(2 ** 32 - 1);
    lstm.destroy();
  });

  it('generation seeds and steps', async () => {
    const logits = rt.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const tok = rt.zeros([2]);
    expect(() => pickTokens(rt, tok, logits, { mode: 'sample', seed: over })).toThrow(`pickTokens: seed must be an integer in [0, 2^32), got ${over}`);
    expect(() => pickTokens(rt, tok, logits, { mode: 'sample', step: -3 })).toThrow('pickTokens: step must be an integer in [0, 2^32), got -3');
    const net = new WaveNet(rt, { inChannels: 3, residualChannels: 2, dilationChannels: 2, skipChannels: 2, outChannels: 3, dilations: [1], seed: 1 });
    expect(() => net.generate(4, { mode: 'sample', seed: over })).toThrow(`WaveNet.generate: seed must be an integer in [0, 2^32), got ${over}`);
    const m = new SequenceToSequence(rt, { input: 'embedding', inputSize: 5, cell: 'gru', hiddenSize: 4, outputSize: 5, seed: 2 });
    await expect(m.generate(3, { prime: [1], seed: over })).rejects.toThrow(`SequenceToSequence.generate: seed must be an integer in [0, 2^32), got ${over}`);
    net.destroy();
    m.destroy();
  });
});
