/**
 * The two string tasks of the encoder-decoder page, as plain data: how an
 * example is drawn, what its answer is, how a user's input is checked, and
 * how a list of examples becomes the time-major token tensors of one batch.
 *
 * Tokens. Source: digits 0..9 are ids 0..9, '+' is 10. Target: digits 0..9,
 * then START (10, the decoder's first input) and STOP (11, the last output).
 * A batch is padded to the task's fixed lengths `TS` (source) and `TD`
 * (target, the longest answer + STOP): padded source steps are masked by the
 * encoder's `srcLengths`, padded target steps by the loss's `ignoreIndex`.
 */

export type TaskName = 'reverse' | 'add';

export const START = 10;
export const STOP = 11;
/** Target vocabulary: 10 digits, START, STOP. */
export const TGT_VOCAB = 12;
/** Target positions past STOP: skipped by the loss. */
export const IGNORE = -1;
const PLUS = 10;

export interface Example {
  /** What the encoder reads, e.g. "12345" or "123+45". */
  input: string;
  /** What the decoder should write, e.g. "54321" or "168". */
  expected: string;
}

export interface Task {
  name: TaskName;
  /** Source vocabulary size (10 digits, + '+' for addition). */
  srcVocab: number;
  /** TS: the longest input, in tokens. */
  srcLen: number;
  /** TD: the longest answer + STOP, in tokens. */
  tgtLen: number;
  /** One line for the page: what the task is and the range it is trained on. */
  describe: string;
  /** A ready-made input for the text box. */
  sample: string;
  /** A random training (or held-out) example. */
  draw(rand: () => number): Example;
  /** The correct output for a valid input. */
  answer(input: string): string;
  /** Null when `input` is valid for this task, else a message saying what is wrong. */
  validate(input: string): string | null;
}

const randInt = (rand: () => number, lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const digits = (rand: () => number, n: number): string => Array.from({ length: n }, () => String(randInt(rand, 0, 9))).join('');

/** Reverse a string of MIN..MAX digits: "12345" -> "54321". */
const REV_MIN = 3;
const REV_MAX = 8;
const reverse: Task = {
  name: 'reverse',
  srcVocab: 10,
  srcLen: REV_MAX,
  tgtLen: REV_MAX + 1,
  describe: `reverse strings of ${REV_MIN}–${REV_MAX} digits: 12345 → 54321`,
  sample: '1234',
  draw: (rand) => {
    const input = digits(rand, randInt(rand, REV_MIN, REV_MAX));
    return { input, expected: [...input].reverse().join('') };
  },
  answer: (input) => [...input].reverse().join(''),
  validate(input) {
    if (input.length === 0) return `Type 1–${REV_MAX} digits (trained on ${REV_MIN}–${REV_MAX}), e.g. 12345.`;
    if (!/^[0-9]+$/.test(input)) return `Only the digits 0–9, please (no spaces, signs or letters): got "${input}".`;
    if (input.length > REV_MAX) return `At most ${REV_MAX} digits (the model reads at most ${REV_MAX}): got ${input.length}.`;
    return null;
  },
};

/**
 * Add two numbers of 1..ADD_MAX digits: "123+45" -> "168". The number of
 * digits of each operand is drawn first, so short numbers are as common as
 * long ones (drawing the value uniformly would make almost all of them 3 digits).
 */
const ADD_MAX = 3;
const addend = (rand: () => number): number => {
  const n = randInt(rand, 1, ADD_MAX);
  return n === 1 ? randInt(rand, 0, 9) : randInt(rand, 10 ** (n - 1), 10 ** n - 1);
};
const add: Task = {
  name: 'add',
  srcVocab: 11,
  srcLen: 2 * ADD_MAX + 1,
  tgtLen: ADD_MAX + 2, // the sum has at most ADD_MAX + 1 digits, then STOP
  describe: `add two numbers of 1–${ADD_MAX} digits: 123+45 → 168`,
  sample: '123+45',
  draw: (rand) => {
    const [a, b] = [addend(rand), addend(rand)];
    return { input: `${a}+${b}`, expected: String(a + b) };
  },
  answer(input) {
    const [a, b] = input.split('+').map(Number);
    return String(a! + b!);
  },
  validate(input) {
    const form = `two numbers of 1–${ADD_MAX} digits with a '+' between them, e.g. 123+45`;
    if (input.length === 0) return `Type ${form}.`;
    if (!/^[0-9+]+$/.test(input)) return `Only the digits 0–9 and '+', please (no spaces, signs or letters): got "${input}".`;
    const m = /^([0-9]+)\+([0-9]+)$/.exec(input);
    if (!m) return `Type ${form}: got "${input}".`;
    if (m[1]!.length > ADD_MAX || m[2]!.length > ADD_MAX) return `Each number may have at most ${ADD_MAX} digits (the range the model is trained on): got "${input}".`;
    // Leading zeros are not in the training data ("007" is never drawn): the expected answer would be ambiguous to read.
    if (/^0[0-9]/.test(m[1]!) || /^0[0-9]/.test(m[2]!)) return `No leading zeros, please (write 7, not 007): got "${input}".`;
    return null;
  },
};

export const TASKS: Record<TaskName, Task> = { reverse, add };

export function taskNamed(name: unknown): Task {
  const t = TASKS[name as TaskName];
  if (!t) throw new Error(`seq2seq: task must be 'reverse' or 'add', got '${String(name)}'`);
  return t;
}

const srcToken = (ch: string): number => (ch === '+' ? PLUS : ch.charCodeAt(0) - 48);

/** A batch in the layout `EncoderDecoder.forward` and `CrossEntropyLoss` take. */
export interface Batch {
  /** [TS, B] source ids, 0 past each row's length. */
  src: Float32Array;
  /** [TD, B] decoder inputs: START, then the answer (teacher forcing), STOP as padding. */
  tgtIn: Float32Array;
  /** [TD * B] targets: the answer, STOP, then IGNORE. */
  tgt: Float32Array;
  /** Valid source steps per row (the encoder's final state is taken there). */
  lengths: number[];
}

/** Packs examples (one per batch row) time-major: element (t, b) at t * B + b. */
export function encodeBatch(task: Task, examples: readonly Example[]): Batch {
  const B = examples.length;
  const [TS, TD] = [task.srcLen, task.tgtLen];
  const src = new Float32Array(TS * B);
  const tgtIn = new Float32Array(TD * B).fill(STOP);
  const tgt = new Float32Array(TD * B).fill(IGNORE);
  examples.forEach(({ input, expected }, b) => {
    [...input].forEach((ch, t) => (src[t * B + b] = srcToken(ch)));
    tgtIn[b] = START;
    [...expected].forEach((ch, t) => {
      const d = srcToken(ch);
      if (t + 1 < TD) tgtIn[(t + 1) * B + b] = d;
      tgt[t * B + b] = d;
    });
    tgt[expected.length * B + b] = STOP;
  });
  return { src, tgtIn, tgt, lengths: examples.map((e) => e.input.length) };
}

/** Decoded target ids -> text ('?' for a START token, which no answer contains). */
export function detokenize(ids: readonly number[]): string {
  return ids.map((i) => (i >= 0 && i <= 9 ? String(i) : '?')).join('');
}

/** Matching positions of two strings, and the longer length (extra or missing characters count as wrong). */
export function charMatches(expected: string, decoded: string): { right: number; of: number } {
  let right = 0;
  for (let i = 0; i < Math.min(expected.length, decoded.length); i++) if (expected[i] === decoded[i]) right++;
  return { right, of: Math.max(expected.length, decoded.length) };
}
