/**
 * The gate heat map: for one input window, the input on top, then one strip
 * per gate (reset r, update z), x = time, y = hidden units, colour = the
 * gate's value 0..1 (viridis-like scale, with its legend below).
 */

import { colour } from '../common/colormap.js';
export interface GateData {
  names: string[];
  T: number;
  B: number;
  H: number;
  /** Post-activation gates at ((t * B + b) * G + g) * H + j. */
  values: Float32Array;
}

/** Mean, min and max of gate `g` over every time and unit (batch row 0). */
export interface GateStats {
  mean: number;
  min: number;
  max: number;
}


export function gateValue(d: GateData, g: number, t: number, j: number, b = 0): number {
  const G = d.names.length;
  return d.values[((t * d.B + b) * G + g) * d.H + j]!;
}

export function gateStats(d: GateData, g: number): GateStats {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let t = 0; t < d.T; t++) {
    for (let j = 0; j < d.H; j++) {
      const v = gateValue(d, g, t, j);
      sum += v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  return { mean: sum / (d.T * d.H), min, max };
}

const LEFT = 92;
const RIGHT = 12;
const INPUT_H = 58;
const STRIP_H = 104;
const GAP = 22;
const LEGEND_H = 40;

export class GateView {
  readonly canvas: HTMLCanvasElement;

  constructor(parent: HTMLElement) {
    this.canvas = document.createElement('canvas');
    this.canvas.style.width = '100%';
    this.canvas.style.display = 'block';
    parent.append(this.canvas);
  }

  /**
   * Draws gates `show` (names) of `d` over the window; `input` holds the
   * window's values (original units), `first` and `last` label the x axis.
   * Units are sorted by their mean update gate (the same order in every
   * strip), so slow units (z near 1: memory) gather at the top.
   */
  draw(d: GateData, show: string[], input: number[], first: string, last: string, unit: string): void {
    const gs = show.map((n) => d.names.indexOf(n)).filter((g) => g >= 0);
    const zi = d.names.indexOf('update');
    const order = Array.from({ length: d.H }, (_, j) => j);
    if (zi >= 0) {
      const m = order.map((j) => {
        let s = 0;
        for (let t = 0; t < d.T; t++) s += gateValue(d, zi, t, j);
        return s;
      });
      order.sort((a, b) => m[b]! - m[a]!);
    }
    const cssW = Math.max(300, this.canvas.parentElement?.clientWidth ? this.canvas.parentElement.clientWidth - 26 : 520);
    const cssH = INPUT_H + GAP + gs.length * (STRIP_H + GAP) + LEGEND_H;
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(cssW * dpr);
    this.canvas.height = Math.round(cssH * dpr);
    this.canvas.style.height = `${cssH}px`;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    const plotW = cssW - LEFT - RIGHT;
    const cw = plotW / d.T;

    // The input window, as a line over the same time axis.
    const lo = Math.min(...input);
    const hi = Math.max(...input);
    const yOf = (v: number) => 10 + (INPUT_H - 20) * (1 - (v - lo) / (hi - lo || 1));
    ctx.strokeStyle = '#1f6feb';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    input.forEach((v, t) => (t ? ctx.lineTo(LEFT + (t + 0.5) * cw, yOf(v)) : ctx.moveTo(LEFT + 0.5 * cw, yOf(v))));
    ctx.stroke();
    ctx.textAlign = 'right';
    ctx.fillStyle = '#57606a';
    ctx.fillText(fmt(hi), LEFT - 8, yOf(hi));
    ctx.fillText(fmt(lo), LEFT - 8, yOf(lo));
    ctx.fillStyle = '#1d2329';
    ctx.fillText(`input (${unit})`, LEFT - 8, INPUT_H / 2);

    let y0 = INPUT_H + GAP;
    const rowH = STRIP_H / d.H;
    for (const g of gs) {
      for (let t = 0; t < d.T; t++) {
        for (let r = 0; r < d.H; r++) {
          ctx.fillStyle = colour(gateValue(d, g, t, order[r]!));
          // Overlap by a pixel: no hairline seams between cells.
          ctx.fillRect(LEFT + t * cw, y0 + r * rowH, cw + 0.6, rowH + 0.6);
        }
      }
      ctx.strokeStyle = '#d0d7de';
      ctx.strokeRect(LEFT - 0.5, y0 - 0.5, plotW + 1, STRIP_H + 1);
      ctx.fillStyle = '#1d2329';
      ctx.textAlign = 'right';
      ctx.fillText(`${d.names[g]} ${d.names[g] === 'reset' ? 'r' : d.names[g] === 'update' ? 'z' : ''}`.trim(), LEFT - 8, y0 + STRIP_H / 2 - 7);
      ctx.fillStyle = '#57606a';
      ctx.fillText(`${d.H} units`, LEFT - 8, y0 + STRIP_H / 2 + 8);
      y0 += STRIP_H + GAP;
    }
    // Time labels under the last strip.
    ctx.fillStyle = '#57606a';
    ctx.textAlign = 'left';
    ctx.fillText(first, LEFT, y0 - GAP / 2);
    ctx.textAlign = 'right';
    ctx.fillText(`${last} →`, LEFT + plotW, y0 - GAP / 2);

    // Legend: the colour scale 0..1.
    const lw = Math.min(240, plotW);
    const ly = y0 + 4;
    for (let i = 0; i < lw; i++) {
      ctx.fillStyle = colour(i / (lw - 1));
      ctx.fillRect(LEFT + i, ly, 1.5, 12);
    }
    ctx.fillStyle = '#1d2329';
    ctx.textAlign = 'center';
    for (const v of [0, 0.5, 1]) ctx.fillText(String(v), LEFT + v * (lw - 1), ly + 24);
    ctx.textAlign = 'left';
    ctx.fillStyle = '#57606a';
    ctx.fillText('gate value', LEFT + lw + 12, ly + 6);
  }
}

function fmt(v: number): string {
  return String(Number(v.toPrecision(4)));
}
