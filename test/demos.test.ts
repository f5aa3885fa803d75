/**
 * The demo pages end to end: builds the static site (vite.demos.config.ts)
 * into a temp folder, serves it with `vite preview`, and opens every page in
 * headless Chromium (WebGPU on SwiftShader where there is no GPU) in test mode
 * (`?test=N`: train N steps, then stop). For each page: it loads, trains, its
 * loss falls, its own output appears (test/demos/<page>.ts), nothing is
 * logged as an error or warning, no WebGPU error is captured; a screenshot
 * goes to test-output/screenshots/<page>.png. A second browser without
 * WebGPU must get the "needs WebGPU" message instead of a blank page.
 *
 * `DEMO=lstm,gru npx vitest run test/demos.test.ts` runs only those pages.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build, preview } from 'vite';
import type { Browser, Page } from 'puppeteer-core';
import { CHROME_FLAGS, ROOT, launchBrowser } from './browser/harness.js';
import type { DemoState } from '../demos/common/shell.js';
import type { DemoCheck } from './demos/types.js';
import { DEMO_PAGES } from '../vite.demos.config.js';

const found = Object.values(import.meta.glob<{ default: DemoCheck }>('./demos/*.check.ts', { eager: true })).map((m) => m.default);
const wanted = process.env.DEMO?.split(',').map((s) => s.trim()).filter(Boolean);
const checks = wanted ? found.filter((c) => wanted.includes(c.id)) : found;
const SHOTS = join(ROOT, 'test-output/screenshots');

let url = '';
let browser: Browser | undefined;
const closeAll: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const outDir = await mkdtemp(join(tmpdir(), 'webgpu-rnn-demos-'));
  closeAll.push(() => rm(outDir, { recursive: true, force: true }));
  const configFile = join(ROOT, 'vite.demos.config.ts');
  await build({ configFile, logLevel: 'warn', build: { outDir } });
  const server = await preview({ configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  closeAll.push(() => new Promise<void>((r) => server.httpServer.close(() => r())));
  const addr = server.httpServer.address();
  if (!addr || typeof addr === 'string') throw new Error(`vite preview: unexpected address ${String(addr)}`);
  url = `http://127.0.0.1:${addr.port}`;
  await mkdir(SHOTS, { recursive: true });
  const chrome = await launchBrowser();
  closeAll.push(chrome.close);
  browser = chrome.browser;
}, 300_000);

afterAll(async () => {
  for (const close of closeAll.reverse()) await close().catch(() => undefined);
});

interface Opened {
  page: Page;
  problems: string[];
}

/** Opens a page, collecting console errors and warnings, page errors and failed requests. */
async function open(b: Browser, path: string, o: { beforeLoad?: string } = {}): Promise<Opened> {
  const page = await b.newPage();
  if (o.beforeLoad) await page.evaluateOnNewDocument(o.beforeLoad);
  await page.setViewport({ width: 1280, height: 900 });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warn') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(`${url}/${path}`, { waitUntil: 'load', timeout: 60_000 });
  return { page, problems };
}

function mean(a: number[]): number {
  return a.reduce((s, v) => s + v, 0) / a.length;
}

describe('demo index', () => {
  it('links to every page', async () => {
    const { page, problems } = await open(browser!, '');
    const links = await page.$$eval('main a', (as) => as.map((a) => (a as HTMLAnchorElement).getAttribute('href')));
    await page.screenshot({ path: join(SHOTS, 'index.png') });
    await page.close();
    // Every page of the site is linked and has its test here.
    for (const id of DEMO_PAGES) expect(links).toContain(`./${id}/`);
    expect(found.map((c) => c.id).sort()).toEqual([...DEMO_PAGES].sort());
    expect(problems).toEqual([]);
  });
});

for (const c of checks) {
  describe(`demo page: ${c.id}`, () => {
    it(`trains ${c.steps} steps in headless Chromium: loss falls, output appears, no errors`, async () => {
      const { page, problems } = await open(browser!, `${c.id}/?test=${c.steps}${c.query ? `&${c.query}` : ''}`);
      try {
        await page.waitForFunction('window.__done === true', { timeout: c.timeoutMs ?? 240_000, polling: 250 });
        const state = (await page.evaluate('window.__results')) as DemoState;
        // Let the last redraw of the plots happen before the screenshot.
        await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
        await page.screenshot({ path: join(SHOTS, `${c.id}.png`), fullPage: true });
        console.log(
          `demo ${c.id}: ${state.step} steps, ${state.msPerStep?.toFixed(1)} ms/step, losses ${state.losses[0]?.loss.map((v) => v.toFixed(4))} -> ${state.losses.at(-1)?.loss.map((v) => v.toFixed(4))} (${state.adapter}); longest main-thread task ${state.longestTaskMs.toFixed(0)} ms`,
        );
        expect(state.errors, 'errors shown on the page').toEqual([]);
        // Responsiveness, not speed: training yields between ~200 ms chunks, and building a model no
        // longer parses WGSL on the main thread (that froze pages for 2-3 s). Measured here: 110-350 ms.
        expect(state.longestTaskMs, 'longest main-thread task (ms)').toBeLessThan(1500);
        expect(state.status).toBe('done');
        expect(state.step).toBe(c.steps);
        const ls = state.losses.map((p) => p.loss[0]!);
        expect(ls.length, 'losses read').toBeGreaterThanOrEqual(5);
        const k = Math.max(1, Math.floor(ls.length / 5));
        const first = mean(ls.slice(0, k));
        const last = mean(ls.slice(-k));
        expect(last, `loss ${first} -> ${last}: must fall below ${c.lossRatio} x the start`).toBeLessThanOrEqual(first * c.lossRatio);
        // Mirrored on <body> for anyone scripting the page.
        expect(await page.evaluate('document.body.dataset.status')).toBe('done');
        c.check(state);
        if (c.interact) await c.interact(page, state);
        expect(problems, 'console errors/warnings, page errors, failed requests').toEqual([]);
      } finally {
        await page.close();
      }
    }, (c.timeoutMs ?? 240_000) + 60_000);
  });
}

describe('demo pages and WebGPU errors', () => {
  it('an uncaptured WebGPU validation error shows on the page as an error (never silence)', async () => {
    const { page, problems } = await open(browser!, `${checks[0]?.id ?? 'rnn'}/`);
    try {
      await page.waitForFunction("window.__demo?.status === 'ready'", { timeout: 60_000, polling: 250 });
      // An invalid buffer (usage MAP_READ with STORAGE is not allowed) outside any error scope; Chromium
      // reports it when the device's work is next flushed (any training step would do it).
      await page.evaluate(
        'window.__demoPage.rt.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE }); window.__demoPage.rt.device.queue.onSubmittedWorkDone()',
      );
      await page.waitForFunction('window.__done === true', { timeout: 60_000, polling: 250 });
      const state = (await page.evaluate('window.__results')) as DemoState;
      expect(state.status).toBe('error');
      expect(state.errors.join('\n')).toMatch(/WebGPU error/);
      expect(await page.$eval('.error', (e) => (e as HTMLElement).hidden)).toBe(false);
      // The page also says so on the console, where a developer (and the page tests) look.
      expect(problems.some((p) => p.startsWith('console.error'))).toBe(true);
    } finally {
      await page.close();
    }
  });
});

describe('demo pages without WebGPU', () => {
  it('say that WebGPU is missing instead of showing a blank page', async () => {
    // The same Chromium with WebGPU turned off.
    const flags = CHROME_FLAGS.filter((f) => !/webgpu|vulkan/i.test(f));
    const chrome = await launchBrowser(['--disable-features=WebGPU,Vulkan'], flags);
    try {
      const id = checks[0]?.id ?? 'rnn';
      const { page, problems } = await open(chrome.browser, `${id}/`);
      await page.waitForFunction('window.__done === true', { timeout: 60_000, polling: 250 });
      const state = (await page.evaluate('window.__results')) as DemoState;
      const text = await page.$eval('#no-webgpu', (e) => e.textContent ?? '');
      await page.screenshot({ path: join(SHOTS, 'no-webgpu.png') });
      await page.close();
      expect(state.status).toBe('no-webgpu');
      expect(text).toMatch(/needs WebGPU/);
      expect(text).toMatch(/found no adapter/);
      // Chromium itself logs this warning when requestAdapter() finds nothing; the page then shows its message.
      expect(problems.filter((p) => p !== 'console.warn: No available adapters.')).toEqual([]);
    } finally {
      await chrome.close();
    }
  });

  it('say so too in a browser that has no navigator.gpu at all', async () => {
    // As in a browser without WebGPU: the property does not exist.
    const { page, problems } = await open(browser!, `${checks[0]?.id ?? 'rnn'}/`, { beforeLoad: 'delete Navigator.prototype.gpu' });
    await page.waitForFunction('window.__done === true', { timeout: 60_000, polling: 250 });
    const state = (await page.evaluate('window.__results')) as DemoState;
    const text = await page.$eval('#no-webgpu', (e) => e.textContent ?? '');
    await page.close();
    expect(state.status).toBe('no-webgpu');
    expect(text).toMatch(/navigator\.gpu is missing/);
    expect(problems).toEqual([]);
  });
});
