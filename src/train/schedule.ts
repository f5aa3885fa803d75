/**
 * Learning-rate schedules as pure functions of the step (PyTorch's
 * lr_scheduler closed forms), and `Scheduler`, which applies one to an
 * optimizer between steps.
 *
 * A `Schedule` maps (step, baseLr) to the lr of that step, step counting
 * from 0 (PyTorch's `last_epoch` after construction). The lr is a host
 * value written into the optimizer's hyper buffer (`optimizer.setLr`), so
 * set it between steps, before recording the next: the write submits work
 * already recorded.
 *
 *     const sched = new Scheduler(opt, sequential([linearWarmup({ startFactor: 0.1, steps: 100 }),
 *       cosineAnnealing({ tMax: 900 })], [100]));
 *     for (...) { rt.step(() => { forward; backward; opt.step(); }); sched.step(); }
 */
import type { Optimizer } from './optim.js';

export type Schedule = (step: number, baseLr: number) => number;

function check(what: string, cond: boolean, msg: string): void {
  if (!cond) throw new Error(`${what}: ${msg}`);
}

/** torch.optim.lr_scheduler.StepLR: baseLr * gamma^floor(step / stepSize). */
export function stepLR(o: { stepSize: number; gamma?: number }): Schedule {
  const gamma = o.gamma ?? 0.1;
  check('stepLR', Number.isInteger(o.stepSize) && o.stepSize >= 1, `stepSize must be an integer >= 1, got ${o.stepSize}`);
  return (step, base) => base * gamma ** Math.floor(step / o.stepSize);
}

/**
 * torch.optim.lr_scheduler.CosineAnnealingLR's closed form:
 * etaMin + (baseLr - etaMin) * (1 + cos(pi * step / tMax)) / 2
 * (periodic past tMax, as PyTorch's).
 */
export function cosineAnnealing(o: { tMax: number; etaMin?: number }): Schedule {
  const etaMin = o.etaMin ?? 0;
  check('cosineAnnealing', o.tMax > 0, `tMax must be > 0, got ${o.tMax}`);
  return (step, base) => etaMin + ((base - etaMin) * (1 + Math.cos((Math.PI * step) / o.tMax))) / 2;
}

/**
 * torch.optim.lr_scheduler.LinearLR: the factor goes linearly from
 * startFactor to endFactor over `steps` steps, then stays at endFactor.
 */
export function linearLR(o: { startFactor?: number; endFactor?: number; steps?: number }): Schedule {
  const s = o.startFactor ?? 1 / 3;
  const e = o.endFactor ?? 1;
  const n = o.steps ?? 5;
  check('linearLR', Number.isInteger(n) && n >= 1, `steps must be an integer >= 1, got ${n}`);
  check('linearLR', s > 0 && s <= 1 && e >= 0 && e <= 1, `factors must be in (0, 1] / [0, 1], got ${s}, ${e}`);
  return (step, base) => base * (s + ((e - s) * Math.min(step, n)) / n);
}

/** Linear warmup: LinearLR from startFactor to 1 over `steps`. */
export function linearWarmup(o: { startFactor: number; steps: number }): Schedule {
  return linearLR({ startFactor: o.startFactor, endFactor: 1, steps: o.steps });
}

/** The base lr at every step. */
export const constantLR: Schedule = (_step, base) => base;

/**
 * SequentialLR: `schedules[i]` from `milestones[i-1]` on, each seeing the
 * steps since its own start (warmup then cosine: the cosine starts at step 0
 * at the milestone, from the base lr).
 */
export function sequential(schedules: Schedule[], milestones: number[]): Schedule {
  check('sequential', schedules.length === milestones.length + 1, `needs one milestone fewer than schedules (${schedules.length} schedules, ${milestones.length} milestones)`);
  check('sequential', milestones.every((m, i) => Number.isInteger(m) && m > (milestones[i - 1] ?? 0)), `milestones must be increasing positive integers, got ${milestones.join(', ')}`);
  return (step, base) => {
    let i = 0;
    while (i < milestones.length && step >= milestones[i]!) i++;
    return schedules[i]!(step - (i ? milestones[i - 1]! : 0), base);
  };
}

/** Linear warmup over `warmup` steps, then cosine annealing to `etaMin` over the remaining `total - warmup`. */
export function warmupCosine(o: { warmup: number; total: number; startFactor?: number; etaMin?: number }): Schedule {
  check('warmupCosine', o.total > o.warmup, `total (${o.total}) must exceed warmup (${o.warmup})`);
  if (o.warmup === 0) return cosineAnnealing({ tMax: o.total, etaMin: o.etaMin });
  return sequential(
    [linearWarmup({ startFactor: o.startFactor ?? 1e-3, steps: o.warmup }), cosineAnnealing({ tMax: o.total - o.warmup, etaMin: o.etaMin })],
    [o.warmup],
  );
}

/**
 * Applies a schedule to an optimizer, as torch's LRScheduler: every param
 * group's lr becomes `schedule(step, group.initialLr)`. Construction sets the
 * lr of step 0, each `step()` (call it after the optimizer step's work is
 * recorded and submitted, i.e. after `rt.step(...)`) the next one. The lr is
 * a small buffer write when it changes: nothing is re-recorded.
 */
export class Scheduler {
  /** The step whose lr is set now (PyTorch's last_epoch). */
  lastStep = 0;

  constructor(
    readonly optimizer: Pick<Optimizer, 'paramGroups'>,
    readonly schedule: Schedule,
  ) {
    if (!optimizer || !Array.isArray(optimizer.paramGroups)) throw new Error('Scheduler: optimizer must be an Optimizer (with paramGroups)');
    if (typeof schedule !== 'function') throw new Error(`Scheduler: schedule must be a function (step, baseLr) => lr, got ${typeof schedule}`);
    this.apply();
  }

  /** The lr of `step` under this schedule, for each param group. */
  lrsAt(step: number): number[] {
    return this.optimizer.paramGroups.map((g) => this.schedule(step, g.initialLr));
  }

  /** The first group's lr at `step`. */
  lrAt(step: number): number {
    return this.lrsAt(step)[0]!;
  }

  /** Sets the lrs of `step`; a schedule that throws or gives a bad lr changes nothing (not even `lastStep`). */
  private apply(step = this.lastStep): void {
    const lrs = this.lrsAt(step);
    lrs.forEach((lr, i) => {
      if (!(Number.isFinite(lr) && lr >= 0)) throw new Error(`Scheduler: the schedule gave lr ${lr} at step ${step} (group ${i}); it must be a finite number >= 0`);
    });
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]!));
    this.lastStep = step;
  }

  step(): void {
    this.apply(this.lastStep + 1);
  }

  /** Jumps to `step` (resuming from a checkpoint). */
  setStep(step: number): void {
    if (!Number.isSafeInteger(step) || step < 0) throw new Error(`Scheduler.setStep: step must be an integer >= 0, got ${step}`);
    this.apply(step);
  }

  /** PyTorch's scheduler state_dict: `last_epoch` and the groups' base lrs. */
  stateDict(): { last_epoch: number; base_lrs: number[] } {
    return { last_epoch: this.lastStep, base_lrs: this.optimizer.paramGroups.map((g) => g.initialLr) };
  }

  loadStateDict(s: { last_epoch: number }): void {
    if (!s || typeof s !== 'object') throw new Error('Scheduler.loadStateDict: expected { last_epoch }');
    this.setStep(s.last_epoch);
  }
}
