/**
 * The shared suite (test/suite/all.ts: kernels, recurrent cells) in a browser, on navigator.gpu.
 * Run by test/browser.test.ts in headless Chromium; also works opened by hand
 * from `npx vite` at /test/browser/index.html.
 *
 * URL: `?seed=N` replays a run (fresh seed otherwise); `?only=TEXT` runs the
 * cases whose name contains TEXT.
 * Sets `page.__adapter`, `page.__seed`, `page.__results` (one entry per
 * case run: name, ok, error, ms) and finally `page.__done = true`.
 */
import { createRuntime, loadReflector, type Runtime } from '../../src/index.js';
import { freshSeed } from '../suite/check.js';
import { sharedCases } from '../suite/all.js';
import { browserOnlyCases } from '../suite/browser-only.js';

const kernelCases = [...sharedCases, ...browserOnlyCases];

export interface CaseResult {
  name: string;
  ok: boolean;
  error?: string;
  ms: number;
}

/** What the page leaves for test/browser.test.ts to read. */
const page = window as unknown as {
  __adapter?: Record<string, unknown>;
  __seed?: number;
  __results?: CaseResult[];
  __done?: boolean;
};

const params = new URLSearchParams(location.search);
const seed = freshSeed(params.get('seed'));
const only = params.get('only');
const out = document.getElementById('log')!;
const say = (s: string) => {
  out.textContent += s + '\n';
};

function message(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

async function main(): Promise<void> {
  page.__seed = seed;
  page.__results = [];
  let rt: Runtime;
  try {
    // A shader edited since src/shaders.reflect.json was written is parsed live, as in Node (test/setup-node.ts).
    await loadReflector();
    rt = await createRuntime({ quiet: true });
  } catch (e) {
    console.error(`createRuntime failed: ${message(e)}`);
    return;
  }
  const info = rt.adapterInfo;
  page.__adapter = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isCpu: rt.isCpu,
    features: [...rt.features].sort(),
  };
  // Errors the runtime did not attribute to a step still fail the case that was running.
  let uncaptured: string[] = [];
  rt.device.addEventListener('uncapturederror', (ev) => {
    uncaptured.push((ev as GPUUncapturedErrorEvent).error.message);
  });
  say(`adapter ${info.vendor} ${info.architecture} ${info.description}; seed ${seed}`);
  for (const c of kernelCases) {
    if (only && !c.name.includes(only)) continue;
    const t0 = performance.now();
    let error: string | undefined;
    try {
      await c.run(rt, seed);
      await rt.sync();
      if (uncaptured.length) throw new Error(`uncaptured WebGPU error: ${uncaptured.join('; ')}`);
    } catch (e) {
      error = `${message(e)} (seed ${seed})`;
    }
    uncaptured = [];
    const ms = performance.now() - t0;
    page.__results.push({ name: c.name, ok: !error, error, ms });
    say(`${error ? 'FAIL' : 'ok  '} ${c.name} ${ms.toFixed(0)} ms${error ? ': ' + error : ''}`);
  }
  rt.destroy();
}

main()
  .catch((e) => console.error(`kernel suite crashed: ${message(e)}`))
  .finally(() => {
    page.__done = true;
  });
