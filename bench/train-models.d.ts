// Types of bench/train-models.js (plain JS so that Node runs it against dist/).
import type * as Lib from '../src/index.js';

type LibModule = typeof Lib;
export type Cell = 'lstm' | 'gru' | 'rnn' | 'wavenet';
export type StateDict = Record<string, Float32Array>;

export const REC: { B: number; T: number; I: number; H: number };
export const WN: { B: number; T: number; CH: number; OUT: number; DIL: number[]; STACKS: number; KS: number };
export const LR: number;
export const EPS: number;
export const MAX_NORM: number;
export const MODELS: { name: string; cell: Cell }[];

export function randomData(n: number, seed: number): Float32Array;
export function recurrentData(): { x: Float32Array; y: Float32Array };
export function wavenetData(): { x: Float32Array; targets: Float32Array };

export interface Trainer<M> {
  model: M;
  /** One full training step (trainer.runStep: one submit); returns its counts. */
  step(): Lib.Counters;
  /** The last step's mean loss and gradient norm (before clipping). */
  read(): Promise<{ loss: number; norm: number }>;
  destroy(): void;
}

export function recurrentTrainer(
  lib: LibModule,
  rt: Lib.Runtime,
  cell: 'lstm' | 'gru' | 'rnn',
  data: { x: Float32Array; y: Float32Array },
  stateDict?: StateDict,
): Trainer<Lib.SequenceToSequence>;
export function wavenetTrainer(lib: LibModule, rt: Lib.Runtime, data: { x: Float32Array; targets: Float32Array }, stateDict?: StateDict): Trainer<Lib.WaveNet>;
export function makeTrainer(lib: LibModule, rt: Lib.Runtime, cell: Cell, stateDict?: StateDict): Trainer<Lib.SequenceToSequence | Lib.WaveNet>;
