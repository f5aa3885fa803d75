/**
 * src/shaders.reflect.json holds the reflections of the shipped shaders (so
 * pages do not spend seconds of main-thread time in wgsl_reflect when a model
 * is built). Every entry must match a live parse of today's source; refresh
 * with `WEBGPU_RNN_UPDATE_REFLECT=1 npx vitest run test/reflect-cache.test.ts`.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { packReflection, reflectShaderSource, sourceHash, unpackReflection, type ReflectCache } from '../src/reflect.js';
import { reflectWgsl } from '../src/reflect-live.js';
import { createRuntime } from '../src/runtime.js';
import { shaderSource } from '../src/shaders.js';
import { compactWgsl } from '../src/wgsl-compact.js';
import cache from '../src/shaders.reflect.json';

const dir = fileURLToPath(new URL('../shaders', import.meta.url));
const names = readdirSync(dir)
  .filter((f) => f.endsWith('.wgsl'))
  .map((f) => f.slice(0, -5))
  .sort();

describe('cached shader reflections', () => {
  if (process.env.WEBGPU_RNN_UPDATE_REFLECT === '1') {
    it('rewrites src/shaders.reflect.json', async () => {
      const out: ReflectCache = {};
      for (const n of names) out[n] = packReflection(sourceHash(shaderSource(n)), await reflectWgsl(shaderSource(n)));
      writeFileSync(fileURLToPath(new URL('../src/shaders.reflect.json', import.meta.url)), `${JSON.stringify(out)}\n`);
    });
    return;
  }
  it('cover exactly the shipped shaders', () => {
    expect(Object.keys(cache).sort()).toEqual(names);
  });
  for (const n of names) {
    it(`${n}: the cached reflection is today's source's (else: WEBGPU_RNN_UPDATE_REFLECT=1)`, async () => {
      const src = shaderSource(n);
      const entry = (cache as unknown as ReflectCache)[n]!;
      expect(entry.hash, `${n}.wgsl changed since the cache was written`).toBe(sourceHash(src));
      expect(unpackReflection(entry)).toEqual(await reflectWgsl(src));
    });
  }
  it('the compacted shaders the package ships compile and reflect as the originals do', async () => {
    // vite.lib.config.ts inlines compactWgsl(source): it must not change what Tint sees or what we reflect.
    const rt = await createRuntime({ quiet: true });
    try {
      for (const n of names) {
        const src = shaderSource(n);
        const small = compactWgsl(src);
        expect(sourceHash(small), n).toBe(sourceHash(src));
        expect(await reflectWgsl(small), n).toEqual(await reflectWgsl(src));
        const errors = async (code: string) =>
          (await rt.device.createShaderModule({ code, label: n }).getCompilationInfo()).messages.filter((m) => m.type === 'error').map((m) => m.message);
        // Fragments that only compile inside their includer (recurrent.wgsl) fail alike both ways.
        expect(await errors(small), n).toEqual(await errors(src));
      }
    } finally {
      rt.destroy();
    }
  });
  it('a changed source is parsed live, not taken from the cache', () => {
    const src = `${shaderSource('reduce')}\n@group(0) @binding(9) var<storage, read_write> extra: array<f32>;\n@compute @workgroup_size(1) fn touch_extra() { extra[0] = 1.0; }\n`;
    const r = reflectShaderSource('reduce', src);
    expect(r.entries.map((e) => e.name)).toContain('touch_extra');
  });
});
