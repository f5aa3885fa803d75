// @ts-nocheck -- plain Node (20+) against the built library (dist/node.js) and a Vite-served page.
/**
 * Our training step in Node (Dawn) against the same step in headless
 * Chromium, on the same adapter, taking turns in one run: per model, rounds
 * of `--per` steps in Chromium (bench/steps.html), then in Node with our
 * polling of Dawn (src/dawn.ts), then in Node with Dawn's own back-to-back
 * setImmediate polling (what Node did before). Interleaving keeps the
 * machine's other load about the same for the three columns; the ratios are
 * of medians over every timed step. Each step ends with `await rt.sync()`.
 * Chromium runs its browser and GPU processes at a raised priority (nice -8
 * on Linux; SwiftShader's workers inherit it): on a machine shared with
 * other load that alone gives it a larger share of the CPU. Every thread of
 * this process is set to Chromium's browser process's niceness (`--nice
 * keep` leaves it; raising a priority needs root, else the run says so).
 * Writes bench/results/node-vs-browser.json.
 *
 *   npm run build:lib && node bench/node-vs-browser.js [--rounds 4] [--per 2] [--only LSTM]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { join } from 'node:path';
import { ROOT, launchBrowser, startServer } from '../test/browser/harness.js';
import { arg, median } from './node-common.mjs';
import { MODELS, makeTrainer } from './train-models.js';

const dawnImmediate = globalThis.setImmediate; // before dist/node.js wraps it
const { loadLib } = await import('./node-common.mjs');
const lib = await loadLib('bench/node-vs-browser.js');
const rounds = Math.max(1, Number(arg('rounds', 4)));
const per = Math.max(1, Number(arg('per', 2)));
const only = arg('only', null);

const rt = await lib.createRuntime({ quiet: true });
const ourPolling = globalThis.setImmediate;
if (ourPolling === dawnImmediate) throw new Error('dist/node.js did not wrap setImmediate (WEBGPU_RNN_DAWN_POLL=immediate?)');
const server = await startServer({ entries: ['bench/steps.html'] });
const chrome = await launchBrowser();
const page = await chrome.browser.newPage();
const niceMode = arg('nice', 'match');
const chromeNice = getPriority(chrome.browser.process().pid);
let nodeNice = getPriority(0);
/** Gives every thread of this process (Dawn's and SwiftShader's included) Chromium's niceness. */
function matchPriority() {
  if (niceMode === 'keep') return;
  try {
    for (const tid of readdirSync('/proc/self/task')) setPriority(Number(tid), chromeNice);
    nodeNice = chromeNice;
  } catch (e) {
    console.log(`note: cannot set this process's threads to nice ${chromeNice} (${e.code ?? e.message}); Chromium keeps its higher priority`);
  }
}
page.on('console', (m) => console.log(`[page] ${m.text()}`));
const rows = [];
try {
  await page.goto(`${server.url}/bench/steps.html`, { waitUntil: 'load', timeout: 60_000 });
  await page.waitForFunction('window.__ready === true || window.__error !== undefined', { timeout: 120_000, polling: 100 });
  const err = await page.evaluate('window.__error');
  if (err) throw new Error(`bench/steps.html: ${err}`);
  const adapter = await page.evaluate('window.__adapter');
  console.log(`nice: Chromium ${chromeNice}, Node ${niceMode === 'keep' ? nodeNice : `${chromeNice} (matched)`}`);
  console.log(`node ${process.version}, Dawn ${rt.adapterInfo.vendor} ${rt.adapterInfo.architecture}; Chromium ${adapter.vendor} ${adapter.architecture}; ${rounds} rounds of ${per} steps each`);
  const nodeSteps = async (tr, n, poll) => {
    globalThis.setImmediate = poll;
    try {
      const all = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        tr.step();
        await rt.sync();
        all.push(performance.now() - t0);
      }
      return all;
    } finally {
      globalThis.setImmediate = ourPolling;
    }
  };
  for (const m of MODELS) {
    if (m.cell === 'wavenet' || (only && !m.name.includes(only))) continue;
    const tr = makeTrainer(lib, rt, m.cell);
    await page.evaluate((c) => window.__setup(c), m.cell);
    // Warm-up: compiles every kernel on both sides.
    await page.evaluate(() => window.__steps(2));
    await nodeSteps(tr, 2, ourPolling);
    matchPriority(); // after the warm-up: SwiftShader's threads exist by now
    const r = { model: m.name, browser: [], node: [], nodeDawnPolling: [] };
    for (let k = 0; k < rounds; k++) {
      r.browser.push(...(await page.evaluate((n) => window.__steps(n), per)));
      r.node.push(...(await nodeSteps(tr, per, ourPolling)));
      r.nodeDawnPolling.push(...(await nodeSteps(tr, per, dawnImmediate)));
    }
    const row = {
      model: m.name,
      browserMs: median(r.browser),
      nodeMs: median(r.node),
      nodeDawnPollingMs: median(r.nodeDawnPolling),
      all: r,
    };
    row.ratio = row.nodeMs / row.browserMs;
    row.ratioDawnPolling = row.nodeDawnPollingMs / row.browserMs;
    const p = await rt.profile(() => tr.step());
    row.profileTop = p.top(5).map((k) => ({ kernel: k.kernel, calls: k.calls, ms: k.totalMs, share: k.share }));
    console.log(`${m.name}: Chromium ${row.browserMs.toFixed(0)} ms, Node ${row.nodeMs.toFixed(0)} ms (x${row.ratio.toFixed(2)}), Node with Dawn's polling ${row.nodeDawnPollingMs.toFixed(0)} ms (x${row.ratioDawnPolling.toFixed(2)})`);
    console.log(`  Node profile:\n${p.toString(5).replace(/^/gm, '  ')}`);
    row.browserProfile = await page.evaluate(() => window.__profile());
    console.log(`  Chromium profile:\n${row.browserProfile.replace(/^/gm, '  ')}`);
    rows.push(row);
    tr.destroy();
  }
} finally {
  await page.close().catch(() => undefined);
  await chrome.close();
  await server.close();
}
const w = [24, 12, 9, 9, 24, 10];
const line = (c) => c.map((s, i) => (i ? String(s).padStart(w[i]) : String(s).padEnd(w[i]))).join('  ');
console.log('\n' + line(['model', 'Chromium ms', 'Node ms', 'Node/Chr', "Node, Dawn's polling ms", 'Node/Chr']));
for (const r of rows) console.log(line([r.model, r.browserMs.toFixed(1), r.nodeMs.toFixed(1), r.ratio.toFixed(2), r.nodeDawnPollingMs.toFixed(1), r.ratioDawnPolling.toFixed(2)]));
const spread = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return `${s[0].toFixed(0)}..${s[s.length - 1].toFixed(0)}`;
};
for (const r of rows) console.log(`${r.model} spread (min..max ms): Chromium ${spread(r.all.browser)}, Node ${spread(r.all.node)}, Node with Dawn's polling ${spread(r.all.nodeDawnPolling)}`);
let commit = null;
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
} catch {}
const load = (() => {
  try {
    return execFileSync('cat', ['/proc/loadavg']).toString().trim();
  } catch {
    return null;
  }
})();
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
const file = join(ROOT, 'bench/results/node-vs-browser.json');
writeFileSync(file, JSON.stringify({ bench: 'node-vs-browser', date: new Date().toISOString(), commit, loadavg: load, nice: { chromium: chromeNice, node: nodeNice }, rounds, per, rows }, null, 2) + '\n');
console.log(`wrote ${file}`);
rt.destroy();
process.exit(0);
