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
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, launchBrowser, runPage, startServer } from '../test/browser/harness.js';

/** @type {Record<string, { columns: [string, (r: any) => string][], files: string[], notes?: (v: any) => string[], node?: string }>} */
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
      ['tf.js ms', (r) => r.tf.ms.toFixed(1)],
      ['tf/ours', (r) => r.ratio.toFixed(1)],
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
    // Our side in Node on Dawn first (needs dist/: npm run bench:train builds it), merged by model.
    node: 'bench/train-node.mjs',
    notes: (v) => {
      const s = v.settings;
      return [
        `full step: forward, loss, backward, clipGradNorm(${s.maxNorm}), Adam(lr ${s.lr}); recurrent B=${s.recurrent.B} T=${s.recurrent.T} I=${s.recurrent.I} H=${s.recurrent.H}, ` +
          `dense head H->1 per step, MSE; WaveNet B=${s.wavenet.B} T=${s.wavenet.T}, ${s.wavenet.CH} ch, dilations [${s.wavenet.DIL}] x ${s.wavenet.STACKS}, 256-way softmax CE`,
        `ms: median of ${s.steps} steps (ours, browser), ${v.node?.steps ?? '-'} (ours, Node/Dawn), ${s.tfSteps} (tf.js) after ${s.checkSteps} checked + ${s.warmup} warm-up steps`,
        ...v.checks.map(
          (c) =>
            `check ${c.model}: loss ours ${c.lossOurs.map((x) => x.toPrecision(7)).join(' -> ')} | tf ${c.lossTf.map((x) => x.toPrecision(7)).join(' -> ')}; ` +
            `grad norm ours ${c.normOurs.toPrecision(6)} expected ${c.normTfExpected.toPrecision(6)} (tf ${c.normTf.toPrecision(6)})`,
        ),
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

async function main() {
  const name = process.argv[2];
  const query = process.argv[3] ?? '';
  const bench = name ? BENCHES[name] : undefined;
  if (!name || !bench || !existsSync(join(ROOT, 'bench', `${name}.html`))) {
    console.error(`usage: node bench/run.js <${Object.keys(BENCHES).join('|')}> [query]`);
    process.exit(2);
  }
  // A Node side (ours on Dawn) runs first, alone, so that it does not share the CPU with Chromium.
  let nodeRun = null;
  if (bench.node) {
    const file = join(mkdtempSync(join(tmpdir(), 'webgpu-rnn-bench-')), 'node.json');
    const q = new URLSearchParams(query);
    const args = [join(ROOT, bench.node), '--json', file, ...(q.get('only') ? ['--only', q.get('only') ?? ''] : []), ...(q.get('nodeSteps') ? ['--steps', q.get('nodeSteps') ?? ''] : [])];
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
    nodeRun = JSON.parse(readFileSync(file, 'utf8'));
    rmSync(dirname(file), { recursive: true, force: true });
  }
  const server = await startServer({ entries: [`bench/${name}.html`] });
  const chrome = await launchBrowser();
  let run;
  try {
    run = await runPage(chrome.browser, `${server.url}/bench/${name}.html${query ? '?' + query : ''}`, {
      timeoutMs: 30 * 60_000,
      echo: true,
    });
  } finally {
    await chrome.close();
    await server.close();
  }
  if (run.failure || run.errors.length || !run.value) {
    console.error(`bench ${name} failed:\n${run.errors.join('\n') || 'no results'}`);
    process.exit(1);
  }
  const rows = run.value.rows;
  if (nodeRun) {
    for (const r of rows) r.node = nodeRun.rows.find((/** @type {{ model: string }} */ n) => n.model === r.model);
    run.value.node = nodeRun;
  }
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
