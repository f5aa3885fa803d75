/**
 * Live line plots for the demo pages, drawn with uPlot (small, fast, MIT;
 * redraws thousands of points per frame without blocking the page). A plot
 * keeps its own columns: `push` appends one x with a y per series, `set`
 * replaces everything (a forecast, a gradient-norm profile).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface SeriesSpec {
  label: string;
  color: string;
  /** Dashed line (a reference curve: the truth, a target). */
  dash?: boolean;
  width?: number;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: SeriesSpec[];
  /** Logarithmic y axis (base 10): losses over orders of magnitude, gradient norms. */
  logY?: boolean;
  height?: number;
}

export class LinePlot {
  readonly el: HTMLElement;
  private readonly u: uPlot;
  private xs: number[] = [];
  private ys: (number | null)[][];
  private pending = false;

  constructor(parent: HTMLElement, readonly o: PlotOptions) {
    this.el = document.createElement('div');
    this.el.className = 'plot';
    parent.appendChild(this.el);
    this.ys = o.series.map(() => []);
    const width = Math.max(280, Math.floor(parent.clientWidth || 480) - 8);
    this.u = new uPlot(
      {
        title: o.title,
        width,
        height: o.height ?? 240,
        scales: { x: { time: false }, y: o.logY ? { distr: 3, log: 10 } : {} },
        axes: [
          { label: o.xLabel, stroke: '#444' },
          { label: o.yLabel, stroke: '#444', size: 64, values: (_u, vals) => vals.map(fmtTick) },
        ],
        legend: { show: true },
        series: [
          { label: o.xLabel },
          ...o.series.map((s) => ({ label: s.label, stroke: s.color, width: s.width ?? 2, dash: s.dash ? [6, 4] : undefined, spanGaps: true })),
        ],
      },
      [[], ...o.series.map(() => [])],
      this.el,
    );
    new ResizeObserver(() => {
      const w = Math.max(280, Math.floor(parent.clientWidth) - 8);
      if (w !== this.u.width) this.u.setSize({ width: w, height: this.u.height });
    }).observe(parent);
  }

  /** Appends a point (one y per series; null or a non-positive value on a log axis leaves a gap). */
  push(x: number, ys: (number | null)[]): void {
    this.xs.push(x);
    ys.forEach((y, i) => this.ys[i]!.push(this.clean(y)));
    this.redraw();
  }

  /** Replaces all points. */
  set(xs: ArrayLike<number>, ys: ArrayLike<number | null>[]): void {
    this.xs = Array.from(xs);
    this.ys = this.o.series.map((_, i) => Array.from(ys[i] ?? [], (y) => this.clean(y)));
    this.redraw();
  }

  clear(): void {
    this.set([], []);
  }

  /** How many points the plot holds. */
  get length(): number {
    return this.xs.length;
  }

  private clean(y: number | null | undefined): number | null {
    if (y === null || y === undefined || !Number.isFinite(y)) return null;
    if (this.o.logY && y <= 0) return null;
    return y;
  }

  /** At most one redraw per animation frame, however many points arrive. */
  private redraw(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.u.setData([this.xs, ...this.ys] as uPlot.AlignedData);
    });
  }
}

function fmtTick(v: number | null): string {
  if (v === null) return '';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e4 || a < 1e-3)) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}
