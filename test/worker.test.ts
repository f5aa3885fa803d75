/**
 * The training-worker protocol (src/worker.ts) in Node: `serveTraining` on
 * one end of a MessageChannel (as in a worker), `TrainingWorker` on the other
 * (as on the page), and `LocalTraining` (the main-thread fallback) over the
 * same loop. A small LSTM character model through `trainerJob`: progress,
 * views, live lr and clip, requests, pause / resume, a checkpoint as bytes
 * that decode, abort and a rebuild from step 0.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Adam,
  createRuntime,
  decodeSafetensors,
  LocalTraining,
  SequenceToSequence,
  serveTraining,
  textData,
  Trainer,
  trainerJob,
  TrainingWorker,
  type Progress,
  type Runtime,
  type TrainingClient,
  type TrainingSetup,
} from '../src/node.js';

const TEXT = 'the cat sat on the mat. the rat ran at the cat. '.repeat(8);
const runtimes: Runtime[] = [];
afterAll(() => {
  for (const r of runtimes) r.destroy();
});

/** A job whose trainer the test can look at (the same object the worker side trains). */
let lastTrainer: Trainer | null = null;
const setup: TrainingSetup<{ hidden: number }> = (rt, config) => {
  const data = textData(TEXT, { T: 8, B: 4 });
  const V = data.vocab.length;
  const model = new SequenceToSequence(rt, { input: 'embedding', inputSize: V, cell: 'lstm', hiddenSize: config.hidden, outputSize: V, seed: 3 });
  const trainer = new Trainer(model, { loss: 'cross_entropy', optimizer: new Adam(model.parameters(), { lr: 0.01 }), logEvery: 1 });
  lastTrainer = trainer;
  const job = trainerJob(trainer, data.train, {
    info: { vocab: data.vocab },
    view: async (step: number) => ({ step, text: data.decode((await model.generate(10, { prime: [0], temperature: 0.5, seed: 1 }))[0]!) }),
    requests: { settings: () => ({ lr: trainer.optimizer.lr, clip: trainer.clip ?? null }) },
  });
  const destroy = job.destroy!;
  job.destroy = () => {
    destroy();
    trainer.optimizer.destroy();
    model.destroy();
  };
  return job;
};

/** Node's MessagePort as a worker's scope and as the page's Worker. */
function channel(): { scope: Parameters<typeof serveTraining>[1]; worker: Worker; ports: MessagePort[] } {
  const { port1, port2 } = new MessageChannel();
  const scope = {
    postMessage: (m: unknown, o?: StructuredSerializeOptions) => port1.postMessage(m, (o?.transfer ?? []) as ArrayBuffer[]),
    addEventListener: (_t: 'message', l: (e: MessageEvent) => void) => port1.on('message', (data) => l({ data } as MessageEvent)),
  };
  const worker = {
    postMessage: (m: unknown) => port2.postMessage(m),
    addEventListener: (t: string, l: (e: MessageEvent) => void) => {
      if (t === 'message') port2.on('message', (data) => l({ data } as MessageEvent));
    },
    terminate: () => port2.close(),
  } as unknown as Worker;
  return { scope: { scope }, worker, ports: [port1, port2] };
}

async function exercise(c: TrainingClient): Promise<void> {
  const ready = await c.ready;
  expect(typeof ready.adapter).toBe('string');
  const progress: Progress[] = [];
  const views: { step: number; text: string }[] = [];
  const states: string[] = [];
  c.onProgress = (p) => progress.push(p);
  c.onView = (v) => views.push(v as { step: number; text: string });
  c.onState = (s) => states.push(s);
  c.onError = (m) => {
    throw new Error(m);
  };
  const info = await c.build<{ vocab: string[] }>({ hidden: 16 });
  expect(info.vocab.length).toBeGreaterThan(5);

  // Live values reach the trainer between chunks.
  c.set({ lr: 0.02, clip: 2 });
  c.start({ steps: 12, viewEveryMs: 0 });
  await new Promise<void>((r) => {
    const was = c.onState;
    c.onState = (s, step) => {
      was(s, step);
      if (s === 'done') r();
    };
  });
  expect(progress.at(-1)!.step).toBe(12);
  const losses = progress.flatMap((p) => p.points.map((q) => q.loss[0]!));
  expect(losses.every(Number.isFinite)).toBe(true);
  expect(losses.at(-1)!).toBeLessThan(losses[0]!);
  expect(views.at(-1)!.step).toBe(12);
  expect(views.at(-1)!.text).toHaveLength(10);
  expect(await c.request('settings')).toEqual({ lr: 0.02, clip: 2 });
  c.set({ clip: 0 });
  expect(await c.request('settings')).toEqual({ lr: 0.02, clip: null });
  await expect(c.request('nope')).rejects.toThrow(/no request 'nope'/);

  // Resume past the target: train on, then pause (answered with 'paused' after the chunk and its view).
  c.start({});
  await new Promise((r) => setTimeout(r, 300));
  await c.pause();
  const at = progress.at(-1)!.step;
  expect(at).toBeGreaterThan(12);
  expect(states.at(-1)).toBe('paused');
  expect(lastTrainer!.step).toBe(at);

  // The checkpoint comes back as bytes that decode: the model, the optimizer and the step.
  const bytes = await c.checkpoint();
  expect(bytes).toBeInstanceOf(Uint8Array);
  const file = decodeSafetensors(bytes);
  expect(file.tensors['rnn.weight_hh_l0']!.shape).toEqual([64, 16]);
  expect(Object.keys(file.tensors).some((k) => k.startsWith('optimizer.'))).toBe(true);

  // Abort frees the job; a new build starts from step 0.
  await c.abort();
  await expect(c.request('settings')).rejects.toThrow(/no job built/);
  await c.build({ hidden: 8 });
  progress.length = 0;
  c.start({ steps: 2 });
  await new Promise<void>((r) => {
    c.onState = (s) => s === 'done' && r();
  });
  expect(progress.at(-1)!.step).toBe(2);
  // Resumed after 'done', it trains on until paused.
  c.resume();
  await new Promise((r) => setTimeout(r, 300));
  await c.pause();
  expect(progress.at(-1)!.step).toBeGreaterThan(2);
  // A pause while not training is answered too (with the state it is in).
  await c.pause();
  await c.abort();
}

describe('training worker protocol', () => {
  it('serveTraining <-> TrainingWorker over a MessageChannel: progress, views, set, requests, pause, checkpoint bytes, abort', async () => {
    const ch = channel();
    serveTraining(setup, { ...ch.scope, runtime: async () => {
      const rt = await createRuntime({ quiet: true });
      runtimes.push(rt);
      return rt;
    } });
    const c = new TrainingWorker(ch.worker);
    try {
      await exercise(c);
    } finally {
      for (const p of ch.ports) p.close();
    }
  }, 120_000);

  it('LocalTraining (the main-thread fallback) runs the same loop', async () => {
    const rt = await createRuntime({ quiet: true });
    runtimes.push(rt);
    const c = new LocalTraining(rt, setup as TrainingSetup);
    await exercise(c);
    c.terminate();
  }, 120_000);

  it.each(['validation', 'device-lost'] as const)(
    'a WebGPU %s error inside the worker\'s training reaches the page: onError, training stops, the page can ask again',
    async (fault) => {
      const ch = channel();
      let rt!: Runtime;
      // From its third step on, the job makes the fault on the worker's device, outside any step's
      // recording (after the Trainer's shape probe, whose dropped recording once left its error
      // scopes pushed and so swallowed every later uncaptured error).
      const faulty: TrainingSetup<{ hidden: number }> = async (r, config) => {
        const job = await setup(r, config);
        const train = job.train.bind(job);
        job.train = async (step: number, n: number) => {
          if (step >= 2) {
            if (fault === 'validation') r.device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
            else r.device.destroy();
          }
          return train(step, n);
        };
        return job;
      };
      serveTraining(faulty, { ...ch.scope, runtime: async () => {
        rt = await createRuntime({ quiet: true });
        runtimes.push(rt);
        return rt;
      } });
      const c = new TrainingWorker(ch.worker);
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      try {
        await c.ready;
        const errors: string[] = [];
        const progress: Progress[] = [];
        const failed = new Promise<void>((r) => {
          c.onError = (m) => {
            errors.push(m);
            r();
          };
        });
        c.onProgress = (p) => progress.push(p);
        await c.build({ hidden: 8 });
        c.start({ steps: 50, viewEveryMs: 1e9 });
        await failed;
        await new Promise((r) => setTimeout(r, 200)); // whatever else the worker has to say
        const want = fault === 'validation' ? /WebGPU (validation )?error/ : /device.*(lost|destroyed)|destroyed/i;
        expect(errors.length).toBeGreaterThan(0);
        expect(errors.some((m) => want.test(m)), errors.join(' | ')).toBe(true);
        // Training stopped at the fault: no step past the chunk that met it.
        const last = progress.at(-1)?.step ?? 0;
        expect(last).toBeLessThan(50);
        await new Promise((r) => setTimeout(r, 300));
        expect(progress.at(-1)?.step ?? 0).toBe(last);
        // The page still gets answers (an error, for a lost device), never silence.
        const answer = c.request('settings').then(
          () => 'ok',
          (e: Error) => e.message,
        );
        expect(await Promise.race([answer, new Promise((r) => setTimeout(() => r('no answer'), 10_000))])).not.toBe('no answer');
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        for (const p of ch.ports) p.close();
      }
    },
    120_000,
  );

  it('a worker without WebGPU says so: ready rejects with WorkerUnavailable', async () => {
    const ch = channel();
    // Node 20 has no navigator: as a worker without navigator.gpu.
    serveTraining(setup, ch.scope);
    const c = new TrainingWorker(ch.worker);
    await expect(c.ready).rejects.toThrow(/navigator\.gpu is missing in this worker/);
    for (const p of ch.ports) p.close();
  });
});
