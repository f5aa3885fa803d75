/**
 * The stack of dilated causal convolutions, drawn as Figure 3 of the WaveNet
 * paper: a row of nodes per layer (input at the bottom, one row per dilated
 * layer, the output on top), every node joined to the `kernelSize` nodes it
 * reads in the row below, and the dependency cone of one output (its
 * receptive field) highlighted down to the input samples it sees. Clicking an
 * output node moves the highlight to that output.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

export interface StackLayout {
  /** Dilation of each layer, bottom to top, across stacks. */
  layerDilations: number[];
  /** Dilations of one stack (to mark where stacks start). */
  stackSize: number;
  kernelSize: number;
  /** Receptive field (inputs one output sees): the caption states it. */
  receptiveField: number;
  /** Sample rate, to state the field in milliseconds. */
  sampleRate?: number;
}

/**
 * The nodes the output at time `t` depends on, per row (row 0 the input,
 * row k the output of layer k): layer k at time s reads layer k-1 at
 * s, s - d_k, ..., s - (K-1) d_k; times before 0 do not exist (causal
 * padding with zeros).
 */
export function dependencyCone(layerDilations: number[], kernelSize: number, t: number): Set<number>[] {
  const L = layerDilations.length;
  const rows: Set<number>[] = Array.from({ length: L + 1 }, () => new Set<number>());
  rows[L]!.add(t);
  for (let k = L; k >= 1; k--) {
    const d = layerDilations[k - 1]!;
    for (const s of rows[k]!) {
      for (let m = 0; m < kernelSize; m++) if (s - m * d >= 0) rows[k - 1]!.add(s - m * d);
    }
  }
  return rows;
}

function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const COLORS = {
  node: '#ffffff',
  nodeStroke: '#8c959f',
  edge: '#d8dee4',
  cone: '#1f6feb',
  coneNode: '#9ecbff',
  input: '#1f6feb',
  output: '#cf222e',
  skip: '#bf8700',
  text: '#57606a',
};

export class StackDiagram {
  readonly el: HTMLElement;
  private layout: StackLayout | null = null;
  private selected = -1;
  /** Called when a click moves the highlight: (output time, inputs it sees). */
  onSelect: ((t: number, inputs: number) => void) | null = null;

  constructor(parent: HTMLElement) {
    this.el = document.createElement('div');
    this.el.className = 'stack-diagram';
    parent.append(this.el);
  }

  /** Draws `layout`, highlighting the last output's receptive field. */
  draw(layout: StackLayout): void {
    this.layout = layout;
    this.selected = this.columns() - 1;
    this.render();
  }

  /** Highlights the receptive field of the output at column `t`. */
  select(t: number): number {
    this.selected = Math.max(0, Math.min(this.columns() - 1, t));
    this.render();
    return this.highlightedInputs();
  }

  /** Input nodes inside the highlighted receptive field (what the test checks against the formula). */
  highlightedInputs(): number {
    return this.el.querySelectorAll('circle.input.rf').length;
  }

  /** The field, plus a few older samples it does not see (a quarter more, at least 4). */
  columns(): number {
    const rf = this.layout?.receptiveField ?? 16;
    return rf + Math.max(4, Math.round(rf / 4));
  }

  private render(): void {
    const lay = this.layout;
    if (!lay) return;
    const { layerDilations: dil, kernelSize: K, stackSize, receptiveField: rf } = lay;
    const L = dil.length;
    const N = this.columns();
    const t = this.selected;
    const cone = dependencyCone(dil, K, t);

    // Geometry: a fixed-width viewBox that scales with the panel; rows closer together for deep stacks.
    const W = 1100;
    const left = 150;
    const right = 70; // room for the skip arcs of the last column
    const top = 26;
    const rows = L + 2; // input, L layers, output
    const dy = rows <= 8 ? 40 : rows <= 14 ? 30 : Math.max(16, 420 / rows);
    const dx = (W - left - right) / Math.max(1, N - 1);
    const r = Math.max(1.6, Math.min(7, dx * 0.3));
    const H = top + (rows - 1) * dy + 56;
    const x = (c: number) => left + c * dx;
    // Row 0 (input) at the bottom, row L + 1 (output) on top.
    const y = (row: number) => top + (rows - 1 - row) * dy;

    const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', id: 'wavenet-diagram' });
    svg.append(svgEl('title', {}, `Dilated causal convolutions: dilations ${dil.join(', ')}, receptive field ${rf}`));
    const gEdges = svgEl('g', { stroke: COLORS.edge, 'stroke-width': 1 });
    const gCone = svgEl('g', { stroke: COLORS.cone, 'stroke-width': Math.min(2.2, Math.max(0.35, dx * 0.12)), 'stroke-linecap': 'round' });
    const gSkip = svgEl('g', { stroke: COLORS.skip, 'stroke-width': 1.2, fill: 'none', 'stroke-dasharray': '4 3' });
    const gNodes = svgEl('g', { 'stroke-width': 1.2 });
    const gText = svgEl('g', { fill: COLORS.text, 'font-size': 12, 'font-family': 'system-ui, sans-serif' });
    svg.append(gEdges, gSkip, gCone, gNodes, gText);

    // Stack boundaries: a faint band behind every other stack.
    if (L > stackSize) {
      for (let s = 0; s * stackSize < L; s++) {
        const lo = s * stackSize + 1;
        const hi = Math.min(L, (s + 1) * stackSize);
        if (s % 2 === 1) svg.insertBefore(svgEl('rect', { x: 4, y: y(hi) - dy / 2, width: W - 8, height: (hi - lo + 1) * dy, fill: '#f3f6f9' }), gEdges);
        gText.append(svgEl('text', { x: 8, y: y((lo + hi) / 2) + 4, 'font-size': 11, fill: '#8c959f' }, `stack ${s + 1}`));
      }
    }

    // Edges of every dilated convolution (faint), and those inside the cone (bold), drawn downwards.
    const dense = (L * N * K) <= 20000;
    for (let k = 1; k <= L; k++) {
      const d = dil[k - 1]!;
      for (let s = 0; s < N; s++) {
        const inCone = cone[k]!.has(s);
        if (!dense && !inCone) continue;
        for (let m = 0; m < K; m++) {
          const p = s - m * d;
          if (p < 0) continue;
          const line = svgEl('line', { x1: x(s), y1: y(k), x2: x(p), y2: y(k - 1) });
          (inCone ? gCone : gEdges).append(line);
        }
      }
    }
    // Output: the head reads the skip sum of every layer at the same time step.
    for (let s = 0; s < N; s++) gEdges.append(svgEl('line', { x1: x(s), y1: y(L + 1), x2: x(s), y2: y(L) }));
    gCone.append(svgEl('line', { x1: x(t), y1: y(L + 1), x2: x(t), y2: y(L) }));
    for (let k = 1; k < L; k++) {
      // Skip connection from layer k at time t: an arc to the output node, bulging right.
      const bulge = 10 + (L - k) * Math.min(5, 50 / L);
      gSkip.append(svgEl('path', { d: `M ${x(t)} ${y(k)} C ${x(t) + bulge} ${y(k)}, ${x(t) + bulge} ${y(L + 1)}, ${x(t)} ${y(L + 1)}` }));
    }

    // Nodes.
    for (let row = 0; row <= L + 1; row++) {
      for (let s = 0; s < N; s++) {
        const inCone = row <= L ? cone[row]!.has(s) : s === t;
        const cls = row === 0 ? 'input' : row === L + 1 ? 'output' : 'hidden';
        let fill = COLORS.node;
        let stroke = COLORS.nodeStroke;
        if (inCone) {
          fill = row === 0 ? COLORS.input : row === L + 1 ? COLORS.output : COLORS.coneNode;
          stroke = row === L + 1 ? COLORS.output : COLORS.cone;
        }
        const c = svgEl('circle', { cx: x(s), cy: y(row), r: row === L + 1 ? r * 1.15 : r, fill, stroke, class: inCone ? `${cls} rf` : cls, 'data-t': s });
        if (row === L + 1) {
          c.style.cursor = 'pointer';
          c.append(svgEl('title', {}, `output at t = ${s}: click to show what it sees`));
          c.addEventListener('click', () => {
            const n = this.select(s);
            this.onSelect?.(s, n);
          });
        }
        gNodes.append(c);
      }
    }

    // Row labels.
    const label = (row: number, text: string, bold = false) =>
      gText.append(svgEl('text', { x: left - 14, y: y(row) + 4, 'text-anchor': 'end', 'font-weight': bold ? 600 : 400 }, text));
    label(0, 'input', true);
    const every = Math.ceil(L / Math.max(1, Math.floor((rows * dy) / 16) - 2));
    for (let k = 1; k <= L; k++) if ((k - 1) % every === 0 || k === L) label(k, `dilation ${dil[k - 1]}`);
    label(L + 1, 'output', true);

    // The receptive field: a bracket under the input row.
    const seen = cone[0]!;
    const lo = Math.min(...seen);
    const yb = y(0) + r + 10;
    const bracket = svgEl('path', { d: `M ${x(lo) - r} ${yb - 5} V ${yb} H ${x(t) + r} V ${yb - 5}`, stroke: COLORS.input, fill: 'none', 'stroke-width': 1.5 });
    gText.append(bracket);
    const ms = lay.sampleRate ? ` = ${((seen.size / lay.sampleRate) * 1000).toFixed(1)} ms` : '';
    const caption = t === N - 1
      ? `receptive field: ${seen.size} samples${ms}`
      : `the output at t = ${t} sees ${seen.size} input${seen.size === 1 ? '' : 's'} (the full field is ${rf}; before t = 0, zero padding)`;
    // Centred under the bracket, but kept inside the figure.
    const cx = Math.min(W - right - 240, Math.max(left + 240, (x(lo) + x(t)) / 2));
    gText.append(svgEl('text', { x: cx, y: yb + 16, 'text-anchor': 'middle', fill: COLORS.input, 'font-weight': 600, class: 'rf-caption' }, caption));
    gText.append(svgEl('text', { x: x(N - 1) + 14, y: y(0) + 4, 'font-size': 11 }, 'time →'));

    this.el.replaceChildren(svg);
  }
}
