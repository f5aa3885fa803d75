// A destroyed runtime must be collectable: nothing (the device's listeners,
// the lost promise's callback, caches) may keep it, or its buffers, alive.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { LSTM, createRuntime, pickTokens } from '../src/index.js';

// The collector, without --expose-gc on the command line: the flag set at run time exposes
// `gc` in contexts made afterwards.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function collect(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    gc!();
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A runtime that went through every cache, destroyed; only WeakRefs to it, its device and a buffer come back. */
async function useAndDestroy(i: number): Promise<WeakRef<object>[]> {
  const rt = await createRuntime({ quiet: true });
  const lstm = new LSTM(rt, { inputSize: 3, hiddenSize: 4, seed: 1 });
  const x = rt.tensor(new Float32Array(2 * 2 * 3).fill(0.5), [2, 2, 3], 'x');
  const { output } = lstm.forward(x);
  const tok = rt.zeros([2], 'tok');
  pickTokens(rt, tok, rt.tensor([1, 2, 3, 4, 5, 6], [2, 3]), { mode: 'sample', seed: i });
  await output.read();
  await tok.read();
  rt.destroy();
  return [new WeakRef(rt), new WeakRef(rt.device), new WeakRef(lstm.params.buffer)];
}

describe('Runtime.destroy releases the runtime', () => {
  it('runtimes created, used and destroyed are garbage collected with their devices and buffers (WeakRef)', async () => {
    const refs: WeakRef<object>[] = [];
    const N = 4;
    for (let i = 0; i < N; i++) refs.push(...(await useAndDestroy(i)));
    await collect();
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    expect(alive, `${alive} of ${refs.length} (runtime, device, a buffer) x ${N} still reachable: ${refs.map((r) => (r.deref() ? 1 : 0)).join('')}`).toBe(0);
  });
});
