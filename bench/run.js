// @ts-check
/**
 * Runs a benchmark page (bench/<name>.html) in headless Chromium, served by
 * Vite, prints its table and writes bench/results/<name>.json.
 *
 *   node bench/run.js gemm                # npm run bench:gemm
 *   node bench/run.js gemm 'minMs=1000&rounds=5&only=square'
 *
 * Chromium: CHROME_PATH (default /usr/bin/chromium); WebGPU on SwiftShader
 * where there is no GPU. Times on SwiftShader are CPU times: compare ratios.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, launchBrowser, runPage, startServer } from '../test/browser/harness.js';
import { loadLib } from './node-common.mjs';

/** @type {Record<string, { columns: [string, (r: any) => string][], files: string[], notes?: (v: any) => string[], nodeSide?: string, headers?: Record<string, string> }>} */
const BENCHES = {
  gemm: {
    columns: [
      ['shape', (r) => r.shape],
      ['op', (r) => r.op],
      ['M x N x K', (r) => `${r.M}x${r.N}x${r.K}`],
      ['ours ms', (r) => r.oursMs.toFixed(2)],
      ['ours GFLOP/s', (r) => r.oursGflops.toFixed(2)],
      ['tf ms', (r) => r.tfMs.toFixed(2)],
      ['tf GFLOP/s', (r) => r.tfGflops.toFixed(2)],
      ['ours/tf', (r) => r.ratio.toFixed(2)],
    ],
    // Sources whose version the numbers belong to.
    files: ['shaders/gemm.wgsl', 'src/ops.ts'],
  },
  recurrent: {
    columns: [
      ['model', (r) => r.model],
      ['ours ms (seq)', (r) => r.seq.ms.toFixed(1)],
      ['ours ms (step)', (r) => r.step.ms.toFixed(1)],
      ['tf ms', (r) => r.tf.ms.toFixed(1)],
      ['tf/ours', (r) => r.ratio.toFixed(1)],
      ['dispatches seq/step/tf', (r) => `${r.seq.dispatches}/${r.step.dispatches}/${r.tf.dispatches}`],
      ['submits seq/step/tf', (r) => `${r.seq.submits}/${r.step.submits}/${r.tf.submits}`],
    ],
    files: [
      'src/nn/recurrent.ts',
      'src/ops.ts',
      'shaders/recurrent.wgsl',
      'shaders/lstm.wgsl',
      'shaders/gru.wgsl',
      'shaders/gru_reset_before.wgsl',
      'shaders/rnn.wgsl',
      'shaders/gemm.wgsl',
      'shaders/elementwise.wgsl',
      'shaders/reduce.wgsl',
    ],
    notes: (v) => [
      `ms: median of ${v.settings.steps} steps (ours), ${v.settings.tfSteps} steps (tf.js), after ${v.settings.warmup} warm-up steps; tf/ours uses our faster path`,
      ...v.checks.map(
        (c) =>
          `check ${c.model} [${c.path}]: loss ours ${c.lossOurs.toPrecision(8)} tf ${c.lossTf.toPrecision(8)}, ` +
          `worst gradient rel. error ${Math.max(...Object.values(c.gradRelErr).map(Number)).toExponential(2)}`,
      ),
    ],
  },
  train: {
    columns: [
      ['model', (r) => r.model],
      ['ours browser ms', (r) => r.ours.ms.toFixed(1)],
      ['ours Node ms', (r) => (r.node ? r.node.ms.toFixed(1) : '-')],
      ['tf.js webgpu ms', (r) => r.tf.ms.toFixed(1)],
      ['tf.js wasm ms', (r) => (r.wasm ? r.wasm.ms.toFixed(1) : '-')],
      ['tf webgpu/ours', (r) => r.ratio.toFixed(1)],
      ['tf wasm/ours', (r) => (r.ratioWasm != null ? r.ratioWasm.toFixed(2) : '-')],
      ['Node/browser', (r) => (r.ratioNode != null ? r.ratioNode.toFixed(2) : '-')],
      ['dispatches ours/tf', (r) => `${r.ours.dispatches}/${r.tf.dispatches}`],
      ['submits ours/tf', (r) => `${r.ours.submits}/${r.tf.submits}`],
    ],
    files: [
      'bench/train-models.js',
      'src/models/sequence.ts',
      'src/nn/layers.ts',
      'src/nn/recurrent.ts',
      'src/nn/wavenet.ts',
      'src/train/loss.ts',
      'src/train/optim.ts',
      'src/ops.ts',
      'shaders/loss.wgsl',
      'shaders/optim.wgsl',
      'shaders/gemm.wgsl',
      'shaders/recurrent.wgsl',
      'shaders/lstm.wgsl',
      'shaders/gru_reset_before.wgsl',
      'shaders/rnn.wgsl',
      'shaders/wavenet.wgsl',
      'shaders/elementwise.wgsl',
      'shaders/reduce.wgsl',
    ],
    // Ours in Node on Dawn, in this process, called by the page between its own steps (needs dist/: npm run bench:train builds it).
    nodeSide: 'bench/train-node.mjs',
    // Cross-origin isolation: SharedArrayBuffer, so TF.js can load its multi-threaded wasm.
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    notes: (v) => {
      const s = v.settings;
      const seq = (/** @type {number[]} */ a) => a.map((x) => x.toPrecision(7)).join(' -> ');
      const pct = (/** @type {{ kernel: string, share: number }[]} */ top) => top.slice(0, 4).map((k) => `${k.kernel} ${(k.share * 100).toFixed(0)}%`).join(', ');
      const w = s.wasm;
      return [
        `full step: forward, loss, backward, clipGradNorm(${s.maxNorm}), Adam(lr ${s.lr}); recurrent B=${s.recurrent.B} T=${s.recurrent.T} I=${s.recurrent.I} H=${s.recurrent.H}, ` +
          `dense head H->1 per step, MSE; WaveNet B=${s.wavenet.B} T=${s.wavenet.T}, ${s.wavenet.CH} ch, dilations [${s.wavenet.DIL}] x ${s.wavenet.STACKS}, 256-way softmax CE`,
        `ms: median of ${s.steps} steps (ours, browser and Node/Dawn), ${s.tfSteps} (tf.js webgpu, wasm), taking turns in ${s.rounds} rounds ` +
          `(${s.per} ours browser, ${s.per} ours Node, ${s.tfPer} tf webgpu, ${s.tfPer} tf wasm) after ${s.checkSteps} checked + ${s.warmup} warm-up steps each`,
        w
          ? `tf.js wasm: SIMD ${w.simd}, threads ${w.threads} (${w.threadsCount} threads; crossOriginIsolated ${w.crossOriginIsolated}, ${w.hardwareConcurrency} logical CPUs)`
          : `tf.js wasm: not run${s.wasmError ? ` (${s.wasmError})` : ''}`,
        s.node ? `Node ${s.node.node}, nice ${s.node.nice} (Chromium's browser process ${s.chromeNice ?? '?'})${s.node.niceNote ? `: ${s.node.niceNote}` : ''}` : 'no Node side',
        ...v.checks.flatMap((c) => [
          `check ${c.model}: loss ours ${seq(c.lossOurs)} | tf ${seq(c.lossTf)}` +
            (c.lossWasm ? ` | wasm ${seq(c.lossWasm)}` : '') +
            (c.lossNode ? ` | Node ${seq(c.lossNode)}` : '') +
            `; grad norm ours ${c.normOurs.toPrecision(6)} expected ${c.normTfExpected.toPrecision(6)} (tf ${c.normTf.toPrecision(6)}` +
            (c.normWasm != null ? `, wasm ${c.normWasm.toPrecision(6)}` : '') +
            (c.normNode != null ? `, Node ${c.normNode.toPrecision(6)}` : '') +
            ')',
          `  after the rounds: ours ${c.final.ours.toPrecision(7)}` +
            (c.final.node != null ? ` Node ${c.final.node.toPrecision(7)}` : '') +
            ` (step ${c.final.oursSteps}); tf ${c.final.tf.toPrecision(7)}` +
            (c.final.wasm != null ? ` wasm ${c.final.wasm.toPrecision(7)}` : '') +
            ` (after ${c.final.tfSteps} updates)`,
        ]),
        ...v.rows.flatMap((/** @type {any} */ r) => [
          `top kernels ${r.model}: browser ${pct(r.profileTop.chromium)}` + (r.profileTop.node ? `; Node ${pct(r.profileTop.node)}` : ''),
          ...(r.wasmError ? [`  tf.js wasm failed: ${r.wasmError}`] : []),
        ]),
      ];
    },
  },
  wavenet: {
    columns: [
      ['case', (r) => r.case],
      ['config', (r) => r.config],
      ['vs', (r) => r.baseline],
      ['unit', (r) => r.unit],
      ['ours', (r) => (r.unit === 'ms/step' ? r.ours.toFixed(1) : r.ours.toFixed(0))],
      ['baseline', (r) => (r.unit === 'ms/step' ? r.base.toFixed(1) : r.base.toFixed(1))],
      ['x faster', (r) => r.ratio.toFixed(1)],
      ['dispatches ours/base', (r) => `${+r.oursDispatches.toPrecision(2)}/${r.baseDispatches}`],
      ['submits ours/base', (r) => `${+r.oursSubmits.toPrecision(2)}/${r.baseSubmits}`],
      ['fast us/sample', (r) => (r.fastMsPerSample === undefined ? '' : (r.fastMsPerSample * 1000).toFixed(1))],
      ['us/layer/sample', (r) => (r.fastUsPerLayerSample === undefined ? '' : r.fastUsPerLayerSample.toFixed(1))],
    ],
    files: [
      'src/nn/wavenet.ts',
      'src/nn/wavenet_generate.ts',
      'shaders/wavenet.wgsl',
      'shaders/wavenet_generate.wgsl',
      'src/ops.ts',
      'shaders/gemm.wgsl',
      'shaders/elementwise.wgsl',
      'shaders/reduce.wgsl',
    ],
    notes: (v) => {
      const s = v.settings;
      const lines = [];
      if (s.train) {
        lines.push(
          `train: ms/step, median of ${s.train.steps} steps (ours) and ${s.train.tfSteps} (tf.js) after ${s.train.warmup} warm-up; dispatches and submits per step`,
        );
      }
      if (s.generate) {
        lines.push(
          `generate: B=1, mode 'sample', input 'mulaw'; fast = net.generate(${s.generate.genN}, chunk ${s.generate.chunk}), median of ${s.generate.genReps}; ` +
            `naive = forward on the last RF window + read-back + CPU argmax, ${s.generate.naiveN} samples; dispatches and submits per sample`,
        );
      }
      const t = v.checks?.train;
      if (t) {
        lines.push(
          `check train: loss ours ${t.lossOurs.toPrecision(8)} tf ${t.lossTf.toPrecision(8)} (|diff| ${Math.abs(t.lossOurs - t.lossTf).toExponential(2)}), ` +
            `worst gradient rel. error ${t.worstGradRelErr.toExponential(2)} (${t.worstGrad})`,
        );
      }
      for (const [k, c] of Object.entries(v.checks ?? {})) {
        if (k.startsWith('generate_')) lines.push(`check ${k.replace('_', ' ')} stack(s): fast argmax = naive on the first ${c.identicalPrefix}/${c.samplesCompared} samples`);
      }
      return lines;
    },
  },
};

/** @param {string[]} head @param {string[][]} body */
function table(head, body) {
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (/** @type {string[]} */ cells) => cells.map((c, i) => (i < 3 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)].join('\n');
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  } catch {
    return null;
  }
}

/** /proc/loadavg (1, 5, 15 min), or null off Linux. */
const loadavg = () => (existsSync('/proc/loadavg') ? readFileSync('/proc/loadavg', 'utf8').trim() : null);

async function main() {
  const name = process.argv[2];
  const query = process.argv[3] ?? '';
  const bench = name ? BENCHES[name] : undefined;
  if (!name || !bench || !existsSync(join(ROOT, 'bench', `${name}.html`))) {
    console.error(`usage: node bench/run.js <${Object.keys(BENCHES).join('|')}> [query]`);
    process.exit(2);
  }
  const loadStart = loadavg();
  const server = await startServer({ entries: [`bench/${name}.html`], headers: bench.headers });
  const chrome = await launchBrowser();
  let run;
  /** @type {number | null} */ let chromeNice = null;
  /** @type {{ destroy: () => void } | null} */ let nodeRt = null;
  try {
    // A Node side (ours on Dawn, in this process) the page calls between its own steps, so that both take turns on the CPU.
    /** @type {Record<string, (...a: any[]) => any>} */ const expose = {};
    if (bench.nodeSide) {
      const lib = await loadLib(`bench/run.js ${name}`);
      const { nodeSide } = await import(pathToFileURL(join(ROOT, bench.nodeSide)).href);
      const rt = await lib.createRuntime({ quiet: true });
      nodeRt = rt;
      // Chromium runs its browser and GPU processes at a raised priority (nice -8 on Linux): Node's threads get the same (bench/node-vs-browser.js).
      const pid = chrome.browser.process()?.pid;
      chromeNice = pid ? getPriority(pid) : null;
      const side = nodeSide(lib, rt, { nice: chromeNice });
      Object.assign(expose, {
        __nodeInfo: () => side.info(),
        __nodeSetup: (/** @type {string} */ cell, /** @type {any} */ sd, /** @type {number} */ k) => side.setup(cell, sd, k),
        __nodeSteps: (/** @type {number} */ n) => side.steps(n),
        __nodeRead: () => side.read(),
        __nodeProfile: (/** @type {number} */ top) => side.profile(top),
        __nodeTeardown: () => side.teardown(),
      });
    }
    run = await runPage(chrome.browser, `${server.url}/bench/${name}.html${query ? '?' + query : ''}`, {
      timeoutMs: 30 * 60_000,
      echo: true,
      expose,
    });
  } finally {
    await chrome.close();
    await server.close();
    nodeRt?.destroy();
  }
  if (run.failure || run.errors.length || !run.value) {
    console.error(`bench ${name} failed:\n${run.errors.join('\n') || 'no results'}`);
    process.exit(1);
  }
  const rows = run.value.rows;
  if (bench.nodeSide && run.value.settings) run.value.settings.chromeNice = chromeNice;
  console.log(`\n${name}: adapter ${JSON.stringify(run.adapter)}`);
  console.log(table(bench.columns.map(([h]) => h), rows.map((r) => bench.columns.map(([, f]) => f(r)))));
  for (const line of bench.notes?.(run.value) ?? []) console.log(line);
  const sources = Object.fromEntries(
    bench.files
      .filter((f) => existsSync(join(ROOT, f)))
      .map((f) => [f, createHash('sha1').update(readFileSync(join(ROOT, f))).digest('hex').slice(0, 12)]),
  );
  const record = {
    bench: name,
    date: new Date().toISOString(),
    commit: gitCommit(),
    sources,
    adapter: run.adapter,
    chromium: process.env.CHROME_PATH ?? '/usr/bin/chromium',
    loadavg: { start: loadStart, end: loadavg() },
    ...run.value,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `${name}.json`);
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
