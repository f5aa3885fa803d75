/**
 * The encoder-decoder page's job (in the page's worker, or on the main
 * thread in the fallback): the model and its trainer; the view is the
 * held-out evaluation (greedy decoding), and `decode` a request for what the
 * user types.
 */
import type { Runtime } from '../../src/runtime.js';
import type { DemoJob, JobConfig, Values } from '../common/shell.js';
import { taskNamed } from './tasks.js';
import { Seq2seqTrainer, type Evaluation } from './trainer.js';

/** Held-out inputs decoded at every view (a multiple of every batch option). */
export const HELD_OUT = 64;

export type Seq2seqView = Evaluation | null;

export async function seq2seqJob(rt: Runtime, { values: v }: JobConfig): Promise<DemoJob> {
  const task = taskNamed(v.task);
  const trainer = new Seq2seqTrainer(rt, {
    task,
    cell: v.cell === 'gru' ? 'gru' : 'lstm',
    hiddenSize: Number(v.hidden),
    batch: Number(v.batch),
    lr: Number(v.lr),
    clip: Number(v.clip),
    heldOut: HELD_OUT,
  });
  let lastView = -1;
  return {
    train: (from, n) => trainer.train(from, n),
    set: (vals) => trainer.update(vals as Values),
    async view(step): Promise<Seq2seqView> {
      if (step === lastView) return null; // viewed again when paused after a view
      lastView = step;
      return trainer.evaluate();
    },
    requests: {
      /** Greedy decoding of one input (validated by the page). */
      decode: (input) => trainer.decode(String(input)),
    },
    destroy: () => trainer.destroy(),
  };
}
