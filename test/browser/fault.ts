/**
 * Fault injection in a page (test/suite/fault.ts): the device destroyed at a
 * seeded step of a Trainer.fit run and of a fit() run, then the recovery from
 * the last checkpoint on a new runtime. Run by test/fault-injection.test.ts
 * in headless Chromium; `?seed=N` replays.
 *
 * Sets `window.__results` = { seed, trainer, fit, unhandled, alive } and
 * `window.__done = true`; `__adapter` as the kernel suite's page.
 */
import { createRuntime, loadReflector } from '../../src/index.js';
import { freshSeed } from '../suite/check.js';
import { fitFault, trainerFaults } from '../suite/fault.js';

const page = window as unknown as { __adapter?: Record<string, unknown>; __results?: Record<string, unknown>; __done?: boolean };
const seed = freshSeed(new URLSearchParams(location.search).get('seed'));
const unhandled: string[] = [];
window.addEventListener('unhandledrejection', (ev) => {
  const r = ev.reason as unknown;
  unhandled.push(r instanceof Error ? `${r.name}: ${r.message}` : String(r));
});
const log = document.getElementById('log')!;

async function main(): Promise<void> {
  const results: Record<string, unknown> = { seed, unhandled };
  page.__results = results;
  try {
    await loadReflector();
    const rt = await createRuntime({ quiet: true });
    page.__adapter = { vendor: rt.adapterInfo.vendor, architecture: rt.adapterInfo.architecture, description: rt.adapterInfo.description };
    rt.destroy();
    results.trainer = (await trainerFaults([seed]))[0];
    results.fit = await fitFault(seed);
    // Rejections left unhandled are reported after the microtasks and a task or two.
    await new Promise((r) => setTimeout(r, 200));
    // The page is alive: its event loop and a fresh runtime still work.
    const rt2 = await createRuntime({ quiet: true });
    results.alive = Array.from(await rt2.tensor([1, 2, 3], [3]).read()).join(',') === '1,2,3';
    rt2.destroy();
  } catch (e) {
    results.error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e);
  }
  log.textContent = JSON.stringify(results, null, 2);
  page.__done = true;
}

void main();
