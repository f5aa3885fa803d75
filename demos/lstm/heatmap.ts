/**
 * A canvas heat map of LSTM gate activations: one strip per gate, x = the
 * characters of a sample (labelled above and below), y = units, colour =
 * activation on a fixed 0..1 scale (a legend below). Hovering a cell shows
 * its gate, unit, character and value. Drawn at the device's pixel ratio so
 * the labels stay sharp; redrawn when the panel is resized.
 */

import { rgb } from '../common/colormap.js';
export interface GateStrip {
  name: string;
  /** [units, T]: values[j * T + t], each in 0..1. */
  values: Float32Array;
}

export interface HeatData {
  chars: string[];
  units: number;
  strips: GateStrip[];
}

// Layout, in CSS pixels.
const LEFT = 86; // gate names and unit ticks
const RIGHT = 10;
const LABEL_ROW = 18; // character labels above the first and below the last strip
const GAP = 12; // between strips
const LEGEND = 44;
const FONT = '11px ui-monospace, Menlo, monospace';


/** How a character is shown as a column label (whitespace made visible). */
export function showChar(ch: string): string {
  return ch === '\n' ? '↵' : ch === ' ' ? '·' : ch === '\t' ? '⇥' : ch;
}

export class GateHeatMap {
  readonly canvas: HTMLCanvasElement;
  /** Scratch canvas: one pixel per cell, scaled up into `canvas`. */
  private cells: HTMLCanvasElement | null = null;
  readonly readout: HTMLElement;
  private data: HeatData | null = null;
  private cellH = 5;
  /** Shown under the map when the pointer is not on a cell. */
  summary = '';

  constructor(parent: HTMLElement) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'gates';
    this.readout = document.createElement('div');
    this.readout.className = 'readout mono';
    parent.append(this.canvas, this.readout);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
    this.canvas.addEventListener('mouseleave', () => (this.readout.textContent = this.summary));
    // Redrawn on the next frame when the width changes (not inside the observer: drawing resizes the panel).
    let lastW = 0;
    new ResizeObserver(() => {
      if (this.width === lastW) return;
      lastW = this.width;
      requestAnimationFrame(() => this.draw());
    }).observe(parent);
  }

  set(data: HeatData, summary: string): void {
    this.data = data;
    this.summary = summary;
    this.readout.textContent = summary;
    this.draw();
  }

  private get width(): number {
    return Math.max(320, this.canvas.parentElement?.clientWidth ? this.canvas.parentElement.clientWidth - 26 : 600);
  }

  /** Top of strip `s`, in CSS pixels. */
  private stripTop(s: number, units: number): number {
    return LABEL_ROW + s * (units * this.cellH + GAP);
  }

  draw(): void {
    const d = this.data;
    if (!d) return;
    const T = d.chars.length;
    const W = this.width;
    const colW = (W - LEFT - RIGHT) / T;
    this.cellH = d.units <= 16 ? 8 : d.units <= 32 ? 5 : 3;
    const stripsH = d.strips.length * d.units * this.cellH + (d.strips.length - 1) * GAP;
    const H = LABEL_ROW + stripsH + LABEL_ROW + LEGEND;
    const dpr = window.devicePixelRatio || 1;
    const cv = this.canvas;
    // Resized only when the size changes (a resize reallocates the canvas's pixels).
    if (cv.width !== Math.round(W * dpr) || cv.height !== Math.round(H * dpr)) {
      cv.width = Math.round(W * dpr);
      cv.height = Math.round(H * dpr);
      cv.style.width = `${W}px`;
      cv.style.height = `${H}px`;
    }
    const g = cv.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);

    // Cells: one pixel per cell in an image, scaled up without smoothing (thousands of fillRects took
    // ~100 ms of the main thread per view on a software rasteriser).
    const x0 = (t: number) => Math.round(LEFT + t * colW);
    const img = (this.cells ??= document.createElement('canvas'));
    img.width = T;
    img.height = d.units;
    const ig = img.getContext('2d');
    g.imageSmoothingEnabled = false;
    d.strips.forEach((s, si) => {
      const top = this.stripTop(si, d.units);
      if (ig) {
        const px = ig.createImageData(T, d.units);
        for (let j = 0; j < d.units; j++) {
          for (let t = 0; t < T; t++) {
            const [r, gr, b] = rgb(s.values[j * T + t]!);
            const o = 4 * (j * T + t);
            px.data[o] = r;
            px.data[o + 1] = gr;
            px.data[o + 2] = b;
            px.data[o + 3] = 255;
          }
        }
        ig.putImageData(px, 0, 0);
        g.drawImage(img, x0(0), top, x0(T) - x0(0), d.units * this.cellH);
      }
      // Gate name and unit ticks on the left.
      g.fillStyle = '#1d2329';
      g.font = 'bold 12px system-ui, sans-serif';
      g.textAlign = 'left';
      g.textBaseline = 'middle';
      const mid = top + (d.units * this.cellH) / 2;
      g.fillText(s.name, 4, mid - 7);
      g.font = '11px system-ui, sans-serif';
      g.fillStyle = '#57606a';
      g.fillText('gate', 4, mid + 7);
      g.font = FONT;
      g.textAlign = 'right';
      g.textBaseline = 'top';
      g.fillText('0', LEFT - 4, top);
      g.textBaseline = 'bottom';
      g.fillText(String(d.units - 1), LEFT - 4, top + d.units * this.cellH);
    });

    // Character labels (every k-th when columns are narrow).
    const every = Math.max(1, Math.ceil(9 / colW));
    g.font = FONT;
    g.textAlign = 'center';
    g.fillStyle = '#1d2329';
    const bottom = LABEL_ROW + stripsH;
    for (let t = 0; t < T; t += every) {
      const x = LEFT + (t + 0.5) * colW;
      const c = showChar(d.chars[t]!);
      g.textBaseline = 'bottom';
      g.fillText(c, x, LABEL_ROW - 3);
      g.textBaseline = 'top';
      g.fillText(c, x, bottom + 3);
    }

    // Legend: the colour scale 0..1.
    const ly = bottom + LABEL_ROW + 10;
    const lw = Math.min(240, W - LEFT - RIGHT);
    if (ig) {
      img.width = lw;
      img.height = 1;
      const px = ig.createImageData(lw, 1);
      for (let i = 0; i < lw; i++) {
        px.data.set([...rgb(i / (lw - 1)), 255], 4 * i);
      }
      ig.putImageData(px, 0, 0);
      g.drawImage(img, LEFT, ly, lw, 10);
    }
    g.fillStyle = '#57606a';
    g.font = FONT;
    g.textBaseline = 'top';
    for (const v of [0, 0.5, 1]) {
      g.textAlign = v === 0 ? 'left' : v === 1 ? 'right' : 'center';
      g.fillText(String(v), LEFT + v * lw, ly + 13);
    }
    g.textAlign = 'left';
    g.textBaseline = 'middle';
    g.font = '11px system-ui, sans-serif';
    g.fillText('activation: 0 = closed (blocks)  ...  1 = open (lets through)', LEFT + lw + 12, ly + 5);
  }

  /** The cell under the pointer, in words. */
  private hover(e: MouseEvent): void {
    const d = this.data;
    if (!d) return;
    const r = this.canvas.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    const T = d.chars.length;
    const t = Math.floor(((x - LEFT) / (r.width - LEFT - RIGHT)) * T);
    const stripH = d.units * this.cellH;
    const s = Math.floor((y - LABEL_ROW) / (stripH + GAP));
    const j = Math.floor((y - this.stripTop(s, d.units)) / this.cellH);
    const strip = d.strips[s];
    if (!strip || t < 0 || t >= T || j < 0 || j >= d.units) {
      this.readout.textContent = this.summary;
      return;
    }
    const v = strip.values[j * T + t]!;
    this.readout.textContent = `${strip.name} gate, unit ${j}, after reading '${showChar(d.chars[t]!)}' (character ${t}): ${v.toFixed(3)}`;
  }
}
