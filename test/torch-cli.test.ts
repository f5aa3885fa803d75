/**
 * PyTorch and the command line: the CLI's checkpoint loads into torch
 * (strict) with the same logits; tools/torch/ddp_train.py trains a
 * char-LSTM with DistributedDataParallel (2 gloo processes on 127.0.0.1)
 * into a file `webgpu-rnn sample` reads; and a CLI checkpoint continues
 * training there (parameters, Adam moments, step).
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SequenceToSequence, createRuntime, type Runtime, type Tensor } from '../src/index.js';
import { encodeSafetensors } from '../src/io/safetensors.js';
import { expectClose, freshSeed, rng } from './suite/check.js';
import { describeTorch, maxDiff, python, readTensors, root, tempDir } from './torch/harness.js';
import { ensureDist } from './suite/dist.js';

const seed = freshSeed(process.env.WEBGPU_RNN_SEED);
const cli = (...args: string[]) => spawnSync(process.execPath, [join(root, 'dist/cli.js'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });

interface DdpSummary {
  losses: number[];
  start_step: number;
  steps: number;
  world_size: number;
  vocab_size: number;
  adam_state_resumed: number;
  parameters: number;
  replica_max_diff: number;
}
/** ddp_train.py prints its summary as the last line of stdout. */
const ddp = (args: string[]): DdpSummary => JSON.parse(python('tools/torch/ddp_train.py', args, 120_000).trim().split('\n').pop()!) as DdpSummary;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describeTorch('PyTorch and the CLI: checkpoints both ways, DistributedDataParallel training', () => {
  let rt: Runtime;
  const dir = tempDir('torch-cli');
  const cliCkpt = join(dir, 'cli.safetensors');
  beforeAll(async () => {
    ensureDist();
    rt = await createRuntime({ quiet: true });
  }, 180_000);
  afterAll(() => rt?.destroy());

  it('webgpu-rnn train --out: the file loads into torch (strict) and gives the logits SequenceToSequence gives from it', async () => {
    const r = cli('train', '--steps', '2', '--hidden', '12', '--layers', '2', '--batch', '2', '--out', cliCkpt);
    expect(r.status, r.stderr).toBe(0);
    const f = readTensors(cliCkpt);
    const m = f.metadata;
    const vocab = JSON.parse(m['charmodel.vocab']!) as string[];
    const V = vocab.length;
    const model = new SequenceToSequence(rt, {
      input: 'embedding', inputSize: V, embeddingDim: Number(m['charmodel.embedding']), cell: m['charmodel.arch'] as 'lstm',
      hiddenSize: Number(m['charmodel.hidden']), numLayers: Number(m['charmodel.layers']), outputSize: V, seed: 1,
    });
    model.loadStateDict(Object.fromEntries(Object.entries(f.t).filter(([k]) => !k.startsWith('optimizer.') && !k.startsWith('rng.'))));
    const [T, B] = [8, 3];
    const r0 = rng(seed);
    const ids = Float32Array.from({ length: T * B }, () => Math.floor(r0() * V));
    const x = rt.tensor(ids, [T, B]);
    let out!: Tensor;
    rt.step(() => {
      out = model.forward(x).logits;
    });
    const ours = await out.read();
    writeFileSync(join(dir, 'ids.safetensors'), encodeSafetensors({ ids: { dtype: 'F32', shape: [T, B], data: ids } }));
    writeFileSync(join(dir, 'jobs.json'), JSON.stringify([{ checkpoint: cliCkpt, arch: m['charmodel.arch'], inputs: join(dir, 'ids.safetensors'), out: join(dir, 'cli.torch.safetensors') }]));
    const [done] = JSON.parse(python('test/torch/models.py', ['logits', join(dir, 'jobs.json')])) as { loaded: string[]; dropped: string[] }[];
    expect(done!.loaded).toContain('rnn.weight_hh_l1');
    expect(done!.dropped.some((k) => k.startsWith('optimizer.'))).toBe(true);
    const theirs = readTensors(join(dir, 'cli.torch.safetensors')).f64.logits!;
    const d = maxDiff(ours, theirs);
    console.log(`CLI checkpoint -> torch logits (seed ${seed}): max|diff| ${d.abs.toExponential(2)}, rel ${d.rel.toExponential(2)}`);
    expect(d.ref).toBeGreaterThan(0);
    // float32 kernels vs torch in float64 from the same float32 parameters: as test/torch.test.ts (measured <= 2e-7).
    expectClose('CLI checkpoint logits', ours, theirs, { atol: 3e-6, rtol: 3e-5 }, seed);
    x.destroy();
    model.destroy();
  });

  it('tools/torch/ddp_train.py: 2 gloo processes train a char-LSTM; webgpu-rnn sample reads the file', () => {
    const out = join(dir, 'ddp.safetensors');
    const s = ddp(['--hidden', '24', '--steps', '16', '--batch', '4', '--seq', '32', '--lr', '1e-2', '--out', out]);
    expect(s.world_size).toBe(2);
    expect(s.losses).toHaveLength(16);
    // Each rank drew its own batches: identical replicas mean DDP averaged the gradients (else they diverge).
    expect(s.replica_max_diff).toBe(0);
    // From ln(V) ~ 4.1 it falls well below in 16 steps (measured: 4.1 -> 2.9).
    expect(s.losses[0]).toBeGreaterThan(3.8);
    expect(mean(s.losses.slice(-3))).toBeLessThan(mean(s.losses.slice(0, 3)) - 0.4);
    const f = readTensors(out);
    expect(f.metadata).toMatchObject({ 'charmodel.arch': 'lstm', 'charmodel.hidden': '24', 'charmodel.layers': '1', 'charmodel.embedding': '24', step: '16' });
    expect(Object.keys(f.t).sort()).toEqual(
      ['embedding.weight', 'head.bias', 'head.weight', 'rnn.bias_hh_l0', 'rnn.bias_ih_l0', 'rnn.weight_hh_l0', 'rnn.weight_ih_l0'],
    );
    expect(f.shape['rnn.weight_ih_l0']).toEqual([4 * 24, 24]);
    const r = cli('sample', '--checkpoint', out, '--length', '30', '--prime', 'Love');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.startsWith('Love')).toBe(true);
    expect(r.stdout.trimEnd().length).toBeGreaterThanOrEqual(30);
  });

  it('the way back: the CLI checkpoint continues training in torch (strict load, Adam moments and step), and samples again', () => {
    const out = join(dir, 'continued.safetensors');
    const s = ddp(['--init', cliCkpt, '--steps', '6', '--batch', '4', '--seq', '32', '--out', out]);
    expect(s.start_step).toBe(2); // the CLI trained 2 steps
    expect(s.adam_state_resumed).toBe(s.parameters); // every parameter's exp_avg, exp_avg_sq and step
    expect(s.parameters).toBe(3 + 4 * 2); // embedding, head weight and bias; 4 per LSTM layer, 2 layers
    expect(s.replica_max_diff).toBe(0);
    expect(s.losses.every(Number.isFinite)).toBe(true);
    const f = readTensors(out);
    expect(f.metadata).toMatchObject({ 'charmodel.hidden': '12', 'charmodel.layers': '2', step: '8' });
    expect(JSON.parse(f.metadata['charmodel.vocab']!)).toEqual(JSON.parse(readTensors(cliCkpt).metadata['charmodel.vocab']!));
    const r = cli('sample', '--checkpoint', out, '--length', '20');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trimEnd().length).toBeGreaterThanOrEqual(20);
  });
});
