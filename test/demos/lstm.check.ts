/**
 * The LSTM page: small sizes so SwiftShader trains in well under a minute;
 * lr 0.01 so the loss leaves ln V (about 4.1) clearly within the steps: 0.75 of
 * the start is below what letter frequencies alone give (about 3.2), so the
 * model must have learnt something of the order of the characters.
 */
import { expect } from 'vitest';
import type { Page } from 'puppeteer-core';
import type { DemoCheck } from './types.js';
import { downloadFromPage } from './download.js';

const GEN = 100;

interface Gates {
  names: string[];
  T: number;
  H: number;
  hidden: number;
  text: string;
  mean: Record<string, number>;
  min: Record<string, number>;
  max: Record<string, number>;
}

export default {
  id: 'lstm',
  steps: 40,
  query: `hidden=64&seqLen=32&batch=16&lr=0.01&genLength=${GEN}`,
  lossRatio: 0.75,
  check(state) {
    const out = state.output;
    console.log(`lstm page: view ${String(out.viewMs)} ms; generated: ${JSON.stringify(out.generated)}`);
    const vocab = new Set(String(out.vocab));
    expect(vocab.size).toBeGreaterThan(20);
    const gen = String(out.generated);
    expect([...gen].length).toBe(GEN);
    for (const ch of gen) expect(vocab.has(ch), `generated '${ch}' is not in the vocabulary`).toBe(true);
    const g = out.gates as Gates;
    expect(g.names).toEqual(['input', 'forget', 'output']);
    expect(g.T).toBe(60);
    expect(g.H).toBe(32);
    expect(g.hidden).toBe(64);
    expect([...g.text].length).toBe(60);
    for (const n of g.names) {
      expect(g.min[n]).toBeGreaterThanOrEqual(0);
      expect(g.max[n]).toBeLessThanOrEqual(1);
      expect(g.mean[n]).toBeGreaterThan(g.min[n]!);
      expect(g.mean[n]).toBeLessThan(g.max[n]!);
    }
  },
  /** A text too short gets a message; a longer one is trained on after reset (its characters only). */
  async interact(page: Page, state) {
    const setText = (text: string) =>
      page.evaluate((t) => {
        const area = document.querySelector<HTMLTextAreaElement>('textarea[name=text]')!;
        area.value = t;
        area.dispatchEvent(new Event('input', { bubbles: true }));
        area.dispatchEvent(new Event('change', { bubbles: true }));
      }, text);
    const note = () => page.$eval('.lstm-note', (e) => e.textContent ?? '');

    // Download checkpoint: a safetensors file with the PyTorch names and the metadata the CLI's `sample` reads.
    const file = await downloadFromPage(page);
    const V = String(state.output.vocab).length;
    expect(file.metadata['charmodel.arch']).toBe('lstm');
    expect(JSON.parse(file.metadata['charmodel.vocab']!).join('')).toBe(state.output.vocab);
    expect(file.metadata['charmodel.embedding']).toBe('64');
    expect(file.tensors['embedding.weight']!.shape).toEqual([V, 64]);
    expect(file.tensors['rnn.weight_hh_l0']!.shape).toEqual([4 * 64, 64]);
    expect(file.tensors['head.weight']!.shape).toEqual([V, 64]);
    expect(Object.keys(file.tensors).some((k) => k.startsWith('optimizer.'))).toBe(true);

    await setText('too short');
    expect(await note()).toMatch(/too short/);

    const custom = 'the cat sat on the mat. a rat ran at the cat.\n'.repeat(4);
    await setText(custom);
    expect(await note()).toMatch(/Press Reset/);
    await page.click('#reset');
    await page.waitForFunction('document.body.dataset.status === "ready"', { timeout: 10_000 });
    await page.click('#start');
    await page.waitForFunction('Number(document.body.dataset.step) >= 3', { timeout: 60_000, polling: 100 });
    await page.click('#pause');
    await page.waitForFunction('document.body.dataset.status === "paused"', { timeout: 60_000, polling: 100 });
    const out = (await page.evaluate('window.__demo.output')) as Record<string, unknown>;
    expect(String(out.source)).toMatch(/your text/);
    const allowed = new Set(custom);
    expect([...String(out.vocab)].every((c) => allowed.has(c))).toBe(true);
    expect([...String(out.generated)].every((c) => allowed.has(c))).toBe(true);
    expect(custom).toContain((out.gates as Gates).text);
  },
} satisfies DemoCheck;
