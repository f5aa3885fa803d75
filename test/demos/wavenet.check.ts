import { expect } from 'vitest';
import type { DemoCheck } from './types.js';
import { downloadFromPage } from './download.js';

// Small for SwiftShader: 16 channels, 2 stacks of dilations 1, 2, 4, 8, batch 4 of 256 samples; 1000 generated.
const STACKS = 2;
const DILATIONS = [1, 2, 4, 8];
const GEN = 1000;
/** Kernel size 2: each layer adds its dilation to what the one below sees. */
const RF = STACKS * DILATIONS.reduce((a, b) => a + b, 0) + 1;

interface Generated {
  length: number;
  samplesPerSecond: number;
  rms: number;
  min: number;
  max: number;
}

export default {
  id: 'wavenet',
  steps: 30,
  query: `hidden=16&layers=${DILATIONS.length}&stacks=${STACKS}&batch=4&seqLen=256&gen=${GEN}&lr=0.01`,
  lossRatio: 0.9,
  check(state) {
    const o = state.output;
    expect(o.receptiveField).toBe(RF);
    expect(RF).toBe(31);
    const d = o.diagram as { highlightedInputs: number; layers: number };
    expect(d.layers).toBe(STACKS * DILATIONS.length);
    expect(d.highlightedInputs, 'input nodes highlighted in the figure').toBe(RF);
    const g = o.generated as Generated;
    expect(g.length).toBe(GEN);
    for (const v of [g.samplesPerSecond, g.rms, g.min, g.max]) expect(Number.isFinite(v)).toBe(true);
    expect(g.samplesPerSecond).toBeGreaterThan(0);
    expect(g.rms).toBeGreaterThan(0);
    expect(g.min).toBeGreaterThanOrEqual(-1);
    expect(g.max).toBeLessThanOrEqual(1);
    const a = o.audio as { length: number; sampleRate: number; duration: number };
    const rate = o.sampleRate as number;
    // The buffer is the generated samples, upsampled by an integer factor to >= 8 kHz where needed.
    expect(a.sampleRate % rate).toBe(0);
    expect(a.length).toBe(GEN * (a.sampleRate / rate));
    expect(a.duration).toBeCloseTo(GEN / rate, 6);
  },
  async interact(page, state) {
    // The checkpoint: the WaveNet's parameters under PyTorch names (Conv1d weights [out, in, kernel]) and Adam's state.
    const file = await downloadFromPage(page);
    expect(file.tensors['input.weight']?.shape).toEqual([16, 1, 1]);
    expect(Object.keys(file.tensors).some((k) => k.startsWith('optimizer.'))).toBe(true);
    expect(file.metadata['demo.muLawClasses']).toBe('256');
    const count = () => page.$$eval('#wavenet-diagram circle.input.rf', (els) => els.length);
    expect(await count()).toBe(RF);
    // An early output sees only the inputs from time 0 to itself (the rest is zero padding).
    await page.click('#wavenet-diagram circle.output[data-t="5"]');
    expect(await count()).toBe(6);
    expect(await page.$eval('#wavenet-diagram .rf-caption', (e) => e.textContent ?? '')).toMatch(/t = 5 sees 6 inputs/);
    // Play (a real click: the AudioContext is created now, with no autoplay warning).
    await page.click('#play-generated');
    await page.waitForFunction('window.__demo.output.played !== undefined', { timeout: 10_000 });
    const played = (await page.evaluate('window.__demo.output.played')) as { which: string; length: number };
    expect(played.which).toBe('generated');
    expect(played.length).toBe((state.output.audio as { length: number }).length);
    // Generate again after training: the next note of the melody as the prefix.
    const before = (state.output.generated as { note: number }).note;
    await page.click('#generate');
    await page.waitForFunction(`window.__demo.output.generated.note !== ${before}`, { timeout: 60_000 });
    const again = (await page.evaluate('window.__demo.output.generated')) as Generated;
    expect(again.length).toBe(GEN);
    expect(again.rms).toBeGreaterThan(0);
  },
} satisfies DemoCheck;
