/**
 * Fault injection (issue 11): the GPU device is destroyed (`rt.device.destroy()`)
 * at a seeded step of a `Trainer.fit` run and of a `fit()` run, in Node (Dawn)
 * and in headless Chromium (test/browser/fault.html). The run's promise
 * rejects with a GPUKernelError (device lost), nothing is left unhandled,
 * the process / page stays alive, and the recovery (a new runtime, the last
 * checkpoint into fresh objects, trained to the end) ends on the parameters
 * of an uninterrupted run, bit for bit (dropout on). WEBGPU_RNN_SEED replays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, runPage, startServer } from './browser/harness.js';
import { freshSeed } from './suite/check.js';
import { FAULT_EVERY, FAULT_STEPS, fitFault, trainerFaults } from './suite/fault.js';

const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
const unhandled: string[] = [];
const onUnhandled = (e: unknown) => void unhandled.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
beforeAll(() => {
  console.log(`fault injection: seed ${seed} (replay: WEBGPU_RNN_SEED=${seed})`);
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

/** Lets pending microtasks and timers run, so that a rejection left unhandled is reported. */
const settle = () => new Promise((r) => setTimeout(r, 50));

describe('device loss during training (Node, Dawn)', () => {
  it('Trainer.fit rejects with GPUKernelError (device lost); the last checkpoint resumes on a new runtime to the same bits', async () => {
    // Two seeded loss points, each on its own runtime; the recoveries and the reference share a new one.
    const seeds = [seed, (seed + 1) >>> 0];
    const outcomes = await trainerFaults(seeds);
    await settle();
    expect(outcomes).toHaveLength(seeds.length);
    for (const [i, o] of outcomes.entries()) {
      const what = `seed ${seeds[i]}: device destroyed at step ${o.lostAt}`;
      expect(o.rejection, what).toMatch(/^GPUKernelError: WebGPU device lost/);
      expect(o.deviceLost, what).toBe(true);
      expect(o.cleanupError, what).toBeNull();
      expect(o.resumedFrom, what).toBe(Math.floor(o.lostAt / FAULT_EVERY) * FAULT_EVERY);
      expect(o.mismatches, what).toEqual([]);
    }
    expect(unhandled, `seeds ${seeds.join(', ')}`).toEqual([]);
  }, 480_000);

  it('fit() rejects with GPUKernelError (device lost) and frees its Trainer without a second error', async () => {
    for (const s of [seed, (seed + 7) >>> 0]) {
      const o = await fitFault(s);
      await settle();
      const what = `seed ${s}: device destroyed at step ${o.lostAt} of ${FAULT_STEPS}`;
      expect(o.rejection, what).toMatch(/^GPUKernelError: WebGPU device lost/);
      expect(o.deviceLost, what).toBe(true);
      expect(o.cleanupError, what).toBeNull();
      expect(unhandled, what).toEqual([]);
    }
  }, 240_000);
});

describe('device loss during training (headless Chromium)', () => {
  it('the same in a page: GPUKernelError, no unhandledrejection, the page alive, the recovery bit-identical', async () => {
    const server = await startServer({ entries: ['test/browser/fault.html'] });
    const chrome = await launchBrowser().catch(async (e: unknown) => {
      await server.close();
      throw e;
    });
    try {
      const run = await runPage(chrome.browser, `${server.url}/test/browser/fault.html?seed=${seed}`, { timeoutMs: 420_000 });
      const r = run.value as {
        seed: number;
        unhandled: string[];
        alive?: boolean;
        error?: string;
        trainer?: { lostAt: number; rejection: string; deviceLost: boolean; cleanupError: string | null; resumedFrom: number; mismatches: string[] };
        fit?: { lostAt: number; rejection: string; deviceLost: boolean; cleanupError: string | null };
      };
      const what = `seed ${seed} in Chromium; page errors: ${run.errors.join('; ') || 'none'}`;
      expect(r?.error, what).toBeUndefined();
      expect(run.failure, what).toBeNull();
      expect(r.trainer!.rejection, `${what}, lost at ${r.trainer!.lostAt}`).toMatch(/^GPUKernelError: WebGPU device lost/);
      expect(r.trainer!.deviceLost).toBe(true);
      expect(r.trainer!.cleanupError).toBeNull();
      expect(r.trainer!.resumedFrom).toBe(Math.floor(r.trainer!.lostAt / FAULT_EVERY) * FAULT_EVERY);
      expect(r.trainer!.mismatches, what).toEqual([]);
      expect(r.fit!.rejection, `${what}, lost at ${r.fit!.lostAt}`).toMatch(/^GPUKernelError: WebGPU device lost/);
      expect(r.fit!.deviceLost).toBe(true);
      expect(r.fit!.cleanupError).toBeNull();
      expect(r.unhandled, what).toEqual([]);
      expect(r.alive, what).toBe(true);
      // A destroyed device may log a warning; nothing may reach the console as an error or a page error.
      expect(run.errors, what).toEqual([]);
    } finally {
      await chrome.close();
      await server.close();
    }
  }, 600_000);
});
