import { afterAll, beforeAll, describe, it } from 'vitest';
import { createRuntime, type Runtime } from '../src/index.js';
import { freshSeed } from './suite/check.js';
import { recurrentSuite } from './suite/recurrent.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ quiet: true });
});
afterAll(() => rt?.destroy());

describe('recurrent layers vs float64 reference (Node, Dawn)', () => {
  for (const c of recurrentSuite) {
    it(c.name, async () => {
      await c.run(rt, freshSeed(process.env.WEBGPU_RNN_SEED));
    });
  }
});
