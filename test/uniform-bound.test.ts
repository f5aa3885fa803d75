// The uniform table is bounded: generation with a fresh seed per call used to
// add one slot per token forever. Evicted slots of dispatches bound earlier
// (a layer's plan) come back when recorded, so outputs stay the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LSTM, SequenceToSequence, WaveNet, createRuntime, pickTokens, type Runtime } from '../src/index.js';
import { UniformTable } from '../src/scheduler.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

describe('uniform table bound', () => {
  it('eviction and revival, by hand: a slot of a submitted step is recycled, never one of the step being recorded', () => {
    const t = new UniformTable(rt.device, 256, 65536);
    t.maxChunks = 1;
    const perChunk = 65536 / 256;
    let n = 0;
    const fresh = () => t.slot(new Uint32Array([n++, 1, 2, 3]), 'k');
    const first = Array.from({ length: perChunk }, fresh);
    expect(t.chunks.length).toBe(1);
    // Still the same step: every slot is in use, so the table grows past its bound.
    fresh();
    expect(t.chunks.length).toBe(2);
    t.advance(); // submitted
    for (let i = 1; i < perChunk; i++) fresh(); // fills chunk 1
    expect(t.evicted).toBe(0);
    const s = fresh(); // full: takes the place of a slot of the submitted step
    expect([t.evicted, t.chunks.length, first[0]!.live, s.chunk, s.offset]).toEqual([1, 2, false, 0, 0]);
    expect(t.size).toBe(2 * perChunk);
    // An evicted slot comes back into its own chunk, in the place of another old one.
    let flushes = 0;
    const flush = () => {
      flushes++;
      t.advance();
    };
    t.revive(first[0]!, flush);
    expect([first[0]!.live, first[0]!.chunk, first[1]!.live, flushes]).toEqual([true, 0, false, 0]);
    // Every slot of chunk 0 now in the step being recorded: reviving first[1] submits the step first.
    for (const x of first) if (x.live) t.touch(x);
    t.revive(first[1]!, flush);
    expect([first[1]!.live, first[1]!.chunk, flushes]).toEqual([true, 0, 1]);
    expect(t.chunks.length).toBe(2);
    t.destroy();
  });

  it('pickTokens with a fresh seed per call: slots stay bounded, the draws stay right', async () => {
    const u = rt.uniforms;
    u.maxChunks = 2;
    const cap = 2 * (u.chunkBytes / rt.limits.minUniformBufferOffsetAlignment);
    const logits = rt.tensor(Float32Array.from({ length: 3 * 7 }, (_, i) => Math.sin(i)), [3, 7], 'logits');
    const tok = rt.zeros([3], 'tok');
    const out = rt.zeros([3, 4], 'out');
    const draw = async (seed: number) => {
      for (let t = 0; t < 4; t++) pickTokens(rt, tok, logits, { mode: 'sample', seed, step: t, out, col: t });
      return Array.from(await out.read());
    };
    const want = await draw(12345);
    let max = 0;
    for (let call = 0; call < 400; call++) {
      for (let t = 0; t < 4; t++) pickTokens(rt, tok, logits, { mode: 'sample', seed: 1000 + call, step: t, out, col: t });
      if (call % 50 === 0) await rt.sync();
      else rt.submit();
      max = Math.max(max, u.size);
    }
    expect(max).toBeLessThanOrEqual(cap);
    expect(u.evicted).toBeGreaterThan(0);
    expect(u.chunks.length).toBeLessThanOrEqual(2);
    expect(await draw(12345)).toEqual(want);
    u.maxChunks = 1e9;
    logits.destroy();
    tok.destroy();
    out.destroy();
  });

  it('SequenceToSequence and WaveNet generation with fresh seeds, and a layer plan bound before: bounded, unchanged outputs', async () => {
    const rt2 = await createRuntime({ quiet: true });
    try {
      const u = rt2.uniforms;
      u.maxChunks = 2;
      const cap = 2 * (u.chunkBytes / rt2.limits.minUniformBufferOffsetAlignment);
      const model = new SequenceToSequence(rt2, { input: 'embedding', inputSize: 6, cell: 'gru', hiddenSize: 8, outputSize: 6, seed: 4 });
      const net = new WaveNet(rt2, { inChannels: 4, residualChannels: 4, dilationChannels: 4, skipChannels: 4, outChannels: 4, dilations: [1, 2], seed: 5 });
      const lstm = new LSTM(rt2, { inputSize: 2, hiddenSize: 3, seed: 6, kernel: 'step' });
      const x = rt2.tensor(Float32Array.from({ length: 6 * 2 * 2 }, (_, i) => Math.cos(i)), [6, 2, 2], 'x');
      const seq0 = await model.generate(20, { prime: [1, 2], seed: 77, batch: 2 });
      const wav0 = Array.from(await net.generate(30, { mode: 'sample', seed: 88, chunk: 4 }).samples.read());
      const lstm0 = Array.from(await lstm.forward(x).output.read());
      let max = 0;
      for (let call = 0; call < 60; call++) {
        await model.generate(20, { prime: [1, 2], seed: 10_000 + call, batch: 2 });
        const s = net.generate(30, { mode: 'sample', seed: 20_000 + call, chunk: 4 }).samples;
        await s.read();
        s.destroy();
        max = Math.max(max, u.size);
      }
      expect(max).toBeLessThanOrEqual(cap);
      expect(u.evicted).toBeGreaterThan(0);
      expect(await model.generate(20, { prime: [1, 2], seed: 77, batch: 2 })).toEqual(seq0);
      expect(Array.from(await net.generate(30, { mode: 'sample', seed: 88, chunk: 4 }).samples.read())).toEqual(wav0);
      expect(Array.from(await lstm.forward(x).output.read())).toEqual(lstm0); // its plan's slots were evicted, then revived
      await rt2.sync();
    } finally {
      rt2.destroy();
    }
  });
});
