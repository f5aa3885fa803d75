// @ts-check
/**
 * Serves the project with Vite and opens pages in headless Chromium (WebGPU on
 * SwiftShader where there is no GPU). Plain JS with JSDoc so that both the
 * vitest browser suite (test/browser.test.ts) and the Node bench runner
 * (bench/run.js) use this one copy.
 *
 * Flags: see /work/shared/gpu-setup.md ("WebGPU in headless Chromium").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import puppeteer from 'puppeteer-core';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const CHROME_FLAGS = [
  '--no-sandbox', // headless Chromium runs as root on CI machines
  '--disable-dev-shm-usage', // containers often have a 64 MB /dev/shm
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-vulkan-surface',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/**
 * Starts a Vite dev server on 127.0.0.1 (a free port) with the project's
 * vite.config.ts (the wgsl_reflect alias, `import.meta.glob` of shaders).
 * No HMR and no file watching: files edited during a run must not reload the page.
 * @param {{ entries?: string[], headers?: Record<string, string> }} [opts] entries: HTML pages whose imports Vite pre-bundles up front
 *   (so no dependency is discovered late, which would reload the page mid-run); headers: sent with every response
 *   (e.g. COOP/COEP for a cross-origin-isolated page: SharedArrayBuffer, wasm threads).
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
export async function startServer(opts = {}) {
  const server = await createServer({
    root: ROOT,
    configFile: join(ROOT, 'vite.config.ts'),
    cacheDir: join(ROOT, 'node_modules/.vite-browser'),
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null, headers: opts.headers },
    optimizeDeps: opts.entries ? { entries: opts.entries } : undefined,
  });
  await server.listen();
  const addr = server.httpServer?.address();
  if (!addr || typeof addr === 'string') throw new Error(`vite: unexpected server address ${String(addr)}`);
  return { url: `http://127.0.0.1:${addr.port}`, close: () => server.close() };
}

/**
 * Launches headless Chromium with WebGPU on (SwiftShader when there is no GPU),
 * with a fresh profile in a temp folder that `close()` removes.
 * @param {string[]} [extraArgs]
 * @param {string[]} [baseFlags] the flags before extraArgs (default CHROME_FLAGS: WebGPU on)
 * @returns {Promise<{ browser: import('puppeteer-core').Browser, close: () => Promise<void> }>}
 */
export async function launchBrowser(extraArgs = [], baseFlags = CHROME_FLAGS) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'webgpu-rnn-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    headless: true,
    userDataDir,
    args: [...baseFlags, ...extraArgs],
    protocolTimeout: 15 * 60_000,
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * @typedef {object} PageRun
 * @property {any} value what `window.__results` held when `window.__done` became true (undefined on failure)
 * @property {any} adapter `window.__adapter`
 * @property {string[]} errors console 'error' messages, page errors, crashes and a timeout, in order
 * @property {string[]} log every console message, as `type: text`
 * @property {string | null} failure why the page did not finish (null when it did)
 */

/**
 * Opens `url`, waits until the page sets `window.__done`, and returns
 * `window.__results`. Never throws for a page's failure: it is in `failure`.
 * @param {import('puppeteer-core').Browser} browser
 * @param {string} url
 * @param {{ timeoutMs?: number, echo?: boolean, expose?: Record<string, (...args: any[]) => any> }} [opts] echo: print console messages as they come;
 *   expose: Node functions the page may call as `window[name](...)` (puppeteer's exposeFunction: arguments and results as JSON)
 * @returns {Promise<PageRun>}
 */
export async function runPage(browser, url, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const page = await browser.newPage();
  /** @type {string[]} */ const errors = [];
  /** @type {string[]} */ const log = [];
  page.on('console', (msg) => {
    const line = `${msg.type()}: ${msg.text()}`;
    log.push(line);
    if (opts.echo) console.log(`[page] ${msg.text()}`);
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err instanceof Error ? err.stack ?? err.message : String(err)}`));
  page.on('error', (err) => errors.push(`page crashed: ${err.message}`));
  page.on('requestfailed', (req) => errors.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
  let failure = null;
  let value;
  let adapter;
  try {
    for (const [name, fn] of Object.entries(opts.expose ?? {})) await page.exposeFunction(name, fn);
    await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
    await page.waitForFunction('window.__done === true', { timeout: timeoutMs, polling: 250 });
    value = await page.evaluate('window.__results');
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
    errors.push(`page did not finish: ${failure}`);
    // Whatever finished before the crash or timeout is still worth reporting.
    value = await page.evaluate('window.__results').catch(() => undefined);
  }
  adapter = await page.evaluate('window.__adapter').catch(() => undefined);
  await page.close().catch(() => undefined);
  return { value, adapter, errors, log, failure };
}
