import { expect } from 'vitest';
import type { Page } from 'puppeteer-core';
import type { DemoCheck } from './types.js';

interface NetMeasure {
  kind: 'tanh' | 'relu';
  loss: number;
  gradNorm: number;
  maxH: number;
  perStep: number;
  profile: number[];
}
interface Measured {
  T: number;
  scale: number;
  clip: number | null;
  nets: NetMeasure[];
}

const T = 20;

/** Moves the W_hh slider as a user would and waits for the page to re-measure. */
async function slide(page: Page, s: number): Promise<Measured> {
  await page.$eval(
    'input[name="scale"]',
    (el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    },
    s,
  );
  await page.waitForFunction((v) => (window.__demo?.output.measured as { scale: number } | undefined)?.scale === v, { timeout: 60_000 }, s);
  return (await page.evaluate(() => window.__demo!.output.measured)) as Measured;
}

export default {
  id: 'rnn',
  steps: 30,
  query: `T=${T}&hidden=16&batch=16`,
  // tanh loss (the first series) on the recall task at s = 1, SGD lr 0.01, clipping at 1.
  lossRatio: 0.9,
  check(state) {
    const m = state.output.measured as Measured;
    expect(m.T).toBe(T);
    expect(m.nets.map((n) => n.kind)).toEqual(['tanh', 'relu']);
    for (const n of m.nets) {
      expect(n.profile).toHaveLength(T);
      expect(n.profile.every((v) => Number.isFinite(v) && v > 0), `${n.kind} profile ${n.profile}`).toBe(true);
    }
    // tanh keeps every activation inside (-1, 1).
    expect(m.nets[0]!.maxH).toBeLessThan(1);
  },
  async interact(page) {
    // W_hh = 2·I: ReLU's gradient grows by exactly 2 per step on its active units (biases are
    // near zero after 30 small SGD steps, so the active set barely changes: 10% margin);
    // tanh's per-step factor is s·(1 - h²) <= 2 and its activations stay below 1.
    const up = await slide(page, 2);
    const [tanh2, relu2] = up.nets as [NetMeasure, NetMeasure];
    expect(relu2.perStep, 'ReLU, s = 2: per-step growth').toBeGreaterThan(1.8);
    expect(relu2.perStep).toBeLessThan(2.2);
    expect(relu2.maxH, 'ReLU activations grow like 2^T').toBeGreaterThan(2 ** (T - 4));
    expect(tanh2.maxH).toBeLessThan(1);
    expect(tanh2.perStep).toBeLessThanOrEqual(2 * 1.001);
    // W_hh = 0.5·I: both vanish (ReLU by exactly 1/2 per step, tanh by at most 1/2).
    const down = await slide(page, 0.5);
    const [tanhH, reluH] = down.nets as [NetMeasure, NetMeasure];
    expect(reluH.perStep, 'ReLU, s = 0.5: per-step shrinkage').toBeGreaterThan(0.45);
    expect(reluH.perStep).toBeLessThan(0.55);
    expect(tanhH.perStep).toBeLessThanOrEqual(0.5 * 1.001);
    expect(tanhH.profile[0]! / tanhH.profile[T - 1]!, 'vanishing over T steps').toBeLessThan(1e-3);
    const text = await page.$eval('#numbers', (e) => e.textContent ?? '');
    expect(text).toMatch(/relu/);
    expect(text).toMatch(/W_hh = 0.5·I/);
  },
} satisfies DemoCheck;
