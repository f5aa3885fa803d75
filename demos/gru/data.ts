/**
 * The GRU page's data: the two series (NOAA's Mauna Loa monthly CO2, shipped
 * in data/, and a seeded synthetic one), their split into a training part and
 * a held-out tail, the normalisation (from the training part only), the
 * training windows, and the error measures with their naive baselines.
 *
 * Dimension letters as in the library: T (window) timesteps, B batch.
 */
import co2Csv from '../../data/co2-mauna-loa-monthly.csv?raw';
import { mulberry32 } from '../../src/nn/init.js';

export interface Series {
  name: string;
  /** Units of the values (axis labels, errors). */
  unit: string;
  values: number[];
  /** A value's date or index, for labels. */
  label(i: number): string;
  /** Length of the season in steps (12: monthly data), for the seasonal-naive baseline. */
  period: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** NOAA GML Mauna Loa monthly mean CO2, 1980-2020 (see the header of the CSV file for source and licence). */
export function co2Series(): Series {
  const years: number[] = [];
  const months: number[] = [];
  const values: number[] = [];
  for (const line of co2Csv.split(/\r?\n/)) {
    if (!line.trim() || line.startsWith('#') || line.startsWith('year')) continue;
    const [y, m, v] = line.split(',').map(Number) as [number, number, number];
    if (![y, m, v].every(Number.isFinite)) throw new Error(`co2-mauna-loa-monthly.csv: bad row '${line}'`);
    years.push(y);
    months.push(m);
    values.push(v);
  }
  return {
    name: 'Mauna Loa CO₂ (NOAA, monthly mean)',
    unit: 'ppm',
    values,
    label: (i) => `${MONTHS[months[i]! - 1]} ${years[i]}`,
    period: 12,
  };
}

/**
 * A seeded synthetic "monthly" series: a slow trend, a yearly cycle, a second
 * cycle of 7.3 months (not a divisor of the year: a seasonal-naive forecast
 * cannot copy it), and Gaussian noise.
 */
export function syntheticSeries(n = 360, seed = 2024): Series {
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const values = Array.from({ length: n }, (_, t) => 10 + 0.02 * t + 2 * Math.sin((2 * Math.PI * t) / 12) + 0.8 * Math.sin((2 * Math.PI * t) / 7.3 + 0.5) + 0.15 * gauss());
  return {
    name: 'synthetic: trend + two cycles + noise',
    unit: 'units',
    values,
    label: (i) => `month ${i}`,
    period: 12,
  };
}

export type Target = 'changes' | 'levels';

/**
 * What the network sees: the series as monthly changes (default: a trend
 * becomes a constant, and values beyond the training range stay in range) or
 * as levels, normalised with the mean and standard deviation of the training
 * part. `enc(i)` is the network's value for series index i (i >= first).
 */
export class Prepared {
  /** First series index held out: the training part is [0, trainEnd), the truth [trainEnd, N). */
  readonly trainEnd: number;
  /** First index with a model value (1 for changes: the change into month i). */
  readonly first: number;
  readonly mean: number;
  readonly std: number;
  private readonly z: Float32Array;

  constructor(
    readonly series: Series,
    readonly horizon: number,
    readonly target: Target,
    readonly window: number,
  ) {
    const s = series.values;
    this.trainEnd = s.length - horizon;
    this.first = target === 'changes' ? 1 : 0;
    const raw = s.map((v, i) => (target === 'changes' ? (i === 0 ? NaN : v - s[i - 1]!) : v));
    const train = raw.slice(this.first, this.trainEnd);
    if (train.length < window + 2) throw new Error(`${series.name}: ${train.length} training values, need at least window + 2 = ${window + 2}`);
    this.mean = train.reduce((a, b) => a + b, 0) / train.length;
    this.std = Math.sqrt(train.reduce((a, b) => a + (b - this.mean) ** 2, 0) / train.length) || 1;
    this.z = Float32Array.from(raw, (v) => (v - this.mean) / this.std);
  }

  /** The network's (normalised) value at series index i. */
  enc(i: number): number {
    return this.z[i]!;
  }

  /** A network output for index i back to a level, given the level at i - 1. */
  dec(out: number, prevLevel: number): number {
    const v = out * this.std + this.mean;
    return this.target === 'changes' ? prevLevel + v : v;
  }

  /** Fills a training batch: B random windows of the training part, x [T, B, 1] and the next values y [T, B, 1]. */
  fillBatch(rand: () => number, B: number, x: Float32Array, y: Float32Array): void {
    const T = this.window;
    // Windows [i0, i0 + T] lie inside [first, trainEnd - 1]: nothing held out is seen.
    const starts = this.trainEnd - 1 - T - this.first + 1;
    for (let b = 0; b < B; b++) {
      const i0 = this.first + Math.floor(rand() * starts);
      for (let t = 0; t < T; t++) {
        x[t * B + b] = this.z[i0 + t]!;
        y[t * B + b] = this.z[i0 + t + 1]!;
      }
    }
  }

  /** The input window that precedes the held-out part: indices [trainEnd - T, trainEnd). */
  context(): Float32Array {
    return this.z.slice(this.trainEnd - this.window, this.trainEnd);
  }

  /** Inputs for the one-step-ahead forecast: indices [trainEnd - T, N - 1) (the true previous values). */
  oneStepInputs(): Float32Array {
    return this.z.slice(this.trainEnd - this.window, this.series.values.length - 1);
  }

  /** The held-out truth, original units. */
  truth(): number[] {
    return this.series.values.slice(this.trainEnd);
  }

  /** Recursive forecast: network outputs fed back one after another, to levels. */
  recursiveLevels(outs: ArrayLike<number>): number[] {
    let prev = this.series.values[this.trainEnd - 1]!;
    return Array.from(outs, (o) => (prev = this.dec(o, prev)));
  }

  /** One-step-ahead forecast: each output from the true values before it, to levels. */
  oneStepLevels(outs: ArrayLike<number>): number[] {
    const s = this.series.values;
    return Array.from(outs, (o, k) => this.dec(o, s[this.trainEnd + k - 1]!));
  }

  /** Seasonal naive: the last observed season, repeated. */
  seasonalNaive(): number[] {
    const s = this.series.values;
    const P = this.series.period;
    return Array.from({ length: this.horizon }, (_, k) => s[this.trainEnd - P + (k % P)]!);
  }

  /** Last value: the last observed value, held. */
  lastValue(): number[] {
    return new Array<number>(this.horizon).fill(this.series.values[this.trainEnd - 1]!);
  }
}

export function rmse(pred: readonly number[], truth: readonly number[]): number {
  if (pred.length !== truth.length || !pred.length) return NaN;
  return Math.sqrt(pred.reduce((a, p, i) => a + (p - truth[i]!) ** 2, 0) / pred.length);
}
