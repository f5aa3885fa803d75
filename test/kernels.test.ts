import { afterAll, beforeAll, describe, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/index.js';
import { freshSeed } from './suite/check.js';
import { kernelCases } from './suite/kernels.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime();
});
afterAll(() => rt?.destroy());

describe('kernels vs float64 references (Node, Dawn)', () => {
  for (const c of kernelCases) {
    it(c.name, async () => {
      await c.run(rt, freshSeed(process.env.WEBGPU_RNN_SEED));
    });
  }
});
