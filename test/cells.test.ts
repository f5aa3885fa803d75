/**
 * The cell table (src/nn/cells.ts) against the shaders it describes: the
 * static half of what `Recurrent` checks when a layer is built. The numbers
 * (outputs and gradients of every cell against float64 references and
 * PyTorch) are in recurrent.test.ts and torch.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CELLS, offsetField, type CellSpec } from '../src/nn/cells.js';
import { shaderConst } from '../src/ops.js';
import { shaderSource } from '../src/shaders.js';

const specs = Object.entries(CELLS) as [string, CellSpec][];

/** The fields of the cell shader's uniform struct. */
function dimsFields(shader: string): string[] {
  const m = /struct Dims \{([^}]*)\}/.exec(shaderSource(shader));
  if (!m) throw new Error(`shaders/${shader}.wgsl has no struct Dims`);
  return [...m[1]!.replace(/\/\/.*$/gm, '').matchAll(/(\w+)\s*:\s*u32/g)].map((x) => x[1]!);
}

describe('cell descriptions', () => {
  it.each(specs)('%s: G and PHASES agree with its shader', (_, spec) => {
    expect(shaderConst(spec.shader, 'G')).toBe(spec.G);
    expect(shaderConst(spec.shader, 'PHASES')).toBe(spec.phases);
    // One struct for all cells: the cell file declares none of its own.
    expect(shaderSource(spec.shader).match(/struct Dims \{/g)).toHaveLength(1);
  });

  it.each(specs)('%s: tensors, weight-gradient blocks and bias source are consistent', (_, spec) => {
    const saved = new Map(spec.saved.map((t) => [t.name, t]));
    const grads = new Map(spec.grads.map((t) => [t.name, t]));
    expect(saved.size + grads.size).toBe(spec.saved.length + spec.grads.length); // names unique
    for (const n of saved.keys()) expect(grads.has(n)).toBe(false);
    expect(saved.get('gates')).toMatchObject({ width: spec.G, rows: 'TB' });
    expect(saved.get('hprev')).toMatchObject({ width: 1, rows: 'TB' });
    expect(grads.get('dgates')).toMatchObject({ width: spec.G, rows: 'TB' });
    expect(grads.get(spec.dbhh)).toMatchObject({ width: spec.G, rows: 'TB' });
    // The blocks cover W_hh's G row blocks once each, in order.
    let next = 0;
    for (const w of spec.dWhh) {
      expect(w.row0).toBe(next);
      expect(w.rows).toBeGreaterThan(0);
      next += w.rows;
      expect(grads.get(w.dgrad)).toMatchObject({ width: spec.G, rows: 'TB' });
      expect(saved.get(w.input)).toMatchObject({ width: 1, rows: 'TB' });
    }
    expect(next).toBe(spec.G);
    // The GEMM path's products: one per phase; forward they cover W_hh's row blocks once, in order.
    expect(spec.forward).toHaveLength(spec.phases);
    expect(spec.backward).toHaveLength(spec.phases);
    next = 0;
    for (const f of spec.forward) {
      expect(f.row0).toBe(next);
      next += f.rows;
      expect(saved.get(f.input)).toMatchObject({ width: 1, rows: 'TB' });
    }
    expect(next).toBe(spec.G);
    for (const b of spec.backward) {
      expect(b.row0 + b.rows).toBeLessThanOrEqual(spec.G);
      expect(grads.get(b.dgrad)).toMatchObject({ width: spec.G, rows: 'TB' });
    }
    expect(spec.states[0]).toBe('h');
    expect(spec.gateNames).toHaveLength(spec.G === 1 ? 1 : spec.G);
  });

  it.each(specs)('%s: every tensor it names has its field in struct Dims, and the shader reads it', (_, spec) => {
    const fields = new Set(dimsFields(spec.shader));
    const src = shaderSource(spec.shader);
    const named = [...spec.saved, ...spec.grads].map((t) => offsetField(t.name));
    for (const s of spec.states) named.push(offsetField(`${s}n`), offsetField(`${s}0`));
    for (const f of named) {
      expect(fields.has(f), f).toBe(true);
      expect(src.includes(`dims.${f}`), `shaders/${spec.shader}.wgsl reads dims.${f}`).toBe(true);
    }
  });

  it('no field of struct Dims is a tensor offset that no description names', () => {
    const described = new Set<string>();
    for (const [, spec] of specs) {
      for (const t of [...spec.saved, ...spec.grads]) described.add(offsetField(t.name));
      for (const s of spec.states) described.add(offsetField(`${s}n`)).add(offsetField(`${s}0`));
    }
    const common = ['T', 'B', 'H', 't', 'reverse', 'ldOut', 'hasBias', 'offDOut', 'offLen', 'oOut', 'oWhh', 'oBhh', 'oDhs', 'ldProd', 'offProd'];
    const stray = dimsFields('lstm').filter((f) => !common.includes(f) && !described.has(f));
    expect(stray).toEqual([]);
    // ... and the check is live: every cell's shader has the same struct.
    for (const [, spec] of specs) expect(dimsFields(spec.shader)).toEqual(dimsFields('lstm'));
  });
});
