/**
 * The kernel suite (test/suite/kernels.ts) in headless Chromium: one page run
 * (test/browser/main.ts, served by Vite) executes every case on navigator.gpu;
 * each case then becomes a vitest test here, so every case is listed even if
 * the page crashes. Replay a failure with WEBGPU_RNN_SEED=<seed>.
 *
 * Needs Chromium (CHROME_PATH, default /usr/bin/chromium); without a GPU it
 * runs WebGPU on SwiftShader.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, runPage, startServer, type PageRun } from './browser/harness.js';
import type { CaseResult } from './browser/main.js';
import { freshSeed } from './suite/check.js';
import { sharedCases } from './suite/all.js';
import { browserOnlyCases } from './suite/browser-only.js';

// The shared suite, and what only a browser can run (IndexedDB, downloads).
const kernelCases = [...sharedCases, ...browserOnlyCases];

const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
let run: PageRun | undefined;
let setupError: string | undefined;
let closeAll: (() => Promise<void>)[] = [];

beforeAll(async () => {
  try {
    const server = await startServer({ entries: ['test/browser/index.html'] });
    closeAll.push(server.close);
    const chrome = await launchBrowser();
    closeAll.push(chrome.close);
    // The whole suite takes ~9 s in the page on SwiftShader (~8 s on Dawn); the margin is for loaded CI machines.
    run = await runPage(chrome.browser, `${server.url}/test/browser/index.html?seed=${seed}`, { timeoutMs: 300_000 });
    if (run.adapter) console.log(`adapter info (Chromium): ${JSON.stringify(run.adapter)}`);
    const ms = ((run.value ?? []) as CaseResult[]).reduce((s, r) => s + r.ms, 0);
    console.log(`browser kernel suite: seed ${seed} (replay: WEBGPU_RNN_SEED=${seed}), ${(ms / 1000).toFixed(1)} s in the page`);
  } catch (e) {
    setupError = e instanceof Error ? (e.stack ?? e.message) : String(e);
  }
}, 420_000);

afterAll(async () => {
  for (const close of closeAll.reverse()) await close().catch(() => undefined);
  closeAll = [];
});

/** What went wrong with the page as a whole, for every case's message. */
function pageTrouble(): string {
  if (setupError) return `browser setup failed: ${setupError}`;
  const errs = run?.errors ?? [];
  return errs.length ? errs.join('\n') : 'no page errors';
}

describe('kernels vs float64 references (headless Chromium)', () => {
  it('opens a WebGPU adapter (SwiftShader or a GPU)', () => {
    expect(setupError, setupError).toBeUndefined();
    const a = run?.adapter as { architecture?: string; description?: string; vendor?: string } | undefined;
    expect(a, `no adapter: ${pageTrouble()}`).toBeDefined();
    const text = `${a!.vendor} ${a!.architecture} ${a!.description}`.toLowerCase();
    // SwiftShader on a CPU-only machine; any named vendor where there is a GPU.
    expect(text.includes('swiftshader') || !!a!.vendor, `unexpected adapter ${JSON.stringify(a)}`).toBe(true);
  });

  it('has no console errors, page errors or crashes', () => {
    expect(setupError, setupError).toBeUndefined();
    expect(run?.errors ?? ['no page run'], `seed ${seed}; console:\n${run?.log.join('\n')}`).toEqual([]);
  });

  it.each(kernelCases.map((c) => c.name))('%s', (name) => {
    const results = (run?.value ?? []) as CaseResult[];
    const r = results.find((x) => x.name === name);
    expect(r, `case did not run in the browser (seed ${seed}): ${pageTrouble()}`).toBeDefined();
    expect(r!.ok, r!.error).toBe(true);
  });
});
