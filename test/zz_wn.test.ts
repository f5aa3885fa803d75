import { it } from 'vitest';
import { createRuntime, WaveNet } from '../src/index.js';
it('perf', async () => {
  const rt = await createRuntime({ quiet: true });
  const [B, T] = [16, 256];
  const net = new WaveNet(rt, { inChannels: 1, residualChannels: 32, dilationChannels: 32, skipChannels: 32, outChannels: 256, dilations: [1, 2, 4, 8], stacks: 2, seed: 1 });
  const x = rt.tensor(Float32Array.from({ length: B * T }, (_, i) => Math.sin(i)), [B, 1, T]);
  const dy = rt.tensor(new Float32Array(B * 256 * T).fill(0.001), [B, 256, T]);
  const run = async (what: string) => { rt.step(() => { if (what.includes('z')) net.zeroGrad(); net.forward(x); if (what.includes('b')) net.backward(dy); }); await rt.sync(); };
  await run('zfb');
  let t0 = performance.now(); for (let i = 0; i < 3; i++) await run('f'); const f = (performance.now() - t0) / 3;
  t0 = performance.now(); for (let i = 0; i < 3; i++) await run('zfb'); const fb = (performance.now() - t0) / 3;
  console.log(`wavenet forward ${f.toFixed(0)} ms, step ${fb.toFixed(0)} ms`);
  rt.destroy();
}, 600000);
