/**
 * The training signal: a short melody synthesised in the page (no audio file
 * to fetch), mu-law quantised to `classes` levels as in the WaveNet paper.
 * Pure functions, no DOM: the same code runs in Node for a quick timing check.
 */
import { muLawDecode, muLawEncode } from '../../src/nn/mulaw.js';

/** A rising and falling pentatonic phrase (C4 D4 E4 G4 A4 G4 E4 D4), in Hz. */
export const MELODY = [261.63, 293.66, 329.63, 392.0, 440.0, 392.0, 329.63, 293.66];
/** Seconds per note. */
export const NOTE_SECONDS = 0.25;

export interface Waveform {
  sampleRate: number;
  /** Amplitudes in [-1, 1]. */
  audio: Float32Array;
  /** Mu-law classes 0..classes-1, one per sample. */
  classes: Int32Array;
  /** The classes decoded back to amplitudes: what the network reads as input. */
  decoded: Float32Array;
  /** Sample index where each note starts. */
  noteStarts: number[];
  /** Quantisation levels (mu = levels - 1). */
  levels: number;
}

/**
 * Each note: a fundamental with two quieter harmonics (a reedy tone), a 10 ms
 * attack and an exponential decay, so that the network sees onsets, steady
 * tones and fading ones.
 */
export function synthesize(sampleRate: number, levels: number): Waveform {
  const perNote = Math.round(NOTE_SECONDS * sampleRate);
  const n = perNote * MELODY.length;
  const audio = new Float32Array(n);
  const attack = Math.max(1, Math.round(0.01 * sampleRate));
  const noteStarts: number[] = [];
  MELODY.forEach((f, k) => {
    const s0 = k * perNote;
    noteStarts.push(s0);
    for (let i = 0; i < perNote; i++) {
      const t = i / sampleRate;
      const env = Math.min(1, i / attack) * Math.exp(-3 * t);
      const w = 2 * Math.PI * f * t;
      audio[s0 + i] = 0.6 * env * (Math.sin(w) + 0.35 * Math.sin(2 * w) + 0.15 * Math.sin(3 * w)) / 1.5;
    }
  });
  const mu = levels - 1;
  const classes = Int32Array.from(audio, (x) => muLawEncode(x, mu));
  const decoded = Float32Array.from(classes, (q) => muLawDecode(q, mu));
  return { sampleRate, audio, classes, decoded, noteStarts, levels };
}

/** Root mean square, min and max of a signal. */
export function stats(x: ArrayLike<number>): { rms: number; min: number; max: number } {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    s += v * v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { rms: Math.sqrt(s / Math.max(1, x.length)), min, max };
}
