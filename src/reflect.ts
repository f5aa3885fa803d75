/**
 * What the runtime needs to know about a WGSL module, as plain data: entry
 * points with the resources each uses, storage and uniform variables (a
 * uniform with its struct's field offsets), override names.
 *
 * wgsl_reflect parses whole function bodies to find which resources each
 * entry point reaches; on the big shaders (the generated GEMM, the GRU) that
 * takes 0.2-0.6 s of main-thread time, which froze the demo pages when a
 * model was built. The shipped shaders' reflections are therefore kept in
 * src/shaders.reflect.json (keyed by a hash of the source without comments
 * and spacing, so the build's compacted shaders hash alike; checked against a
 * live parse by test/reflect-cache.test.ts, which also rewrites it with
 * WEBGPU_RNN_UPDATE_REFLECT=1); shaders whose source differs (edited, or
 * added with registerShader) are parsed live.
 *
 * wgsl_reflect itself (about 220 kB) is loaded only for such shaders, by
 * `loadReflector()` (src/reflect-live.ts; `registerShader` calls it), so
 * an application that runs only the shipped shaders never downloads it.
 */
import cache from './shaders.reflect.json';
import { compactWgsl } from './wgsl-compact.js';

export interface PlainVar {
  name: string;
  group: number;
  binding: number;
  /** 0 uniform, 1 storage (wgsl_reflect's ResourceType). */
  resourceType: number;
  access: string;
  typeName: string;
  size: number;
  members?: { name: string; offset: number; type: string }[];
}

export interface PlainReflection {
  entries: { name: string; resources: PlainVar[] }[];
  storage: PlainVar[];
  uniforms: PlainVar[];
  overrides: string[];
}

/** The live parser, once `loadReflector()` has loaded wgsl_reflect. */
let liveParser: ((code: string) => PlainReflection) | null = null;

export function setLiveParser(parse: (code: string) => PlainReflection): void {
  liveParser = parse;
}

/** FNV-1a over the UTF-16 code units of `compactWgsl(code)`, as 8 hex digits: enough to tell a changed source. */
export function sourceHash(code: string): string {
  const text = compactWgsl(code);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * One shader in src/shaders.reflect.json: each variable once (the storage
 * variables, then the uniforms), and each entry point naming the variables it
 * uses by index (a third of the size of the plain reflection).
 */
export interface CachedReflection {
  hash: string;
  vars: PlainVar[];
  /** How many of `vars` are storage variables (the rest are uniforms). */
  storage: number;
  entries: [name: string, vars: number[]][];
  overrides: string[];
}

export type ReflectCache = Record<string, CachedReflection>;

const varKey = (v: PlainVar) => `${v.group}:${v.binding}:${v.name}`;

/** The cache entry of a reflection; throws if an entry point uses a variable the module does not list. */
export function packReflection(hash: string, r: PlainReflection): CachedReflection {
  const vars = [...r.storage, ...r.uniforms];
  const index = new Map(vars.map((v, i) => [varKey(v), i]));
  const entries = r.entries.map((e): [string, number[]] => [
    e.name,
    e.resources.map((v) => {
      const i = index.get(varKey(v));
      if (i === undefined || JSON.stringify(vars[i]) !== JSON.stringify(v)) throw new Error(`reflection cache: ${e.name} uses '${v.name}', which the module does not list alike`);
      return i;
    }),
  ]);
  return { hash, vars, storage: r.storage.length, entries, overrides: r.overrides };
}

export function unpackReflection(c: CachedReflection): PlainReflection {
  return {
    entries: c.entries.map(([name, idx]) => ({ name, resources: idx.map((i) => c.vars[i]!) })),
    storage: c.vars.slice(0, c.storage),
    uniforms: c.vars.slice(c.storage),
    overrides: c.overrides,
  };
}

const unpacked = new Map<string, PlainReflection>();

/** The cached reflection of a shipped shader when its source is unchanged, else a live parse. */
export function reflectShaderSource(name: string, code: string): PlainReflection {
  const hit = (cache as unknown as ReflectCache)[name];
  if (hit && hit.hash === sourceHash(code)) {
    let r = unpacked.get(name);
    if (!r) unpacked.set(name, (r = unpackReflection(hit)));
    return r;
  }
  if (liveParser) return liveParser(code);
  throw new Error(
    hit
      ? `shaders/${name}.wgsl differs from its cached reflection: run WEBGPU_RNN_UPDATE_REFLECT=1 npx vitest run test/reflect-cache.test.ts, or await loadReflector() first`
      : `shader '${name}' has no cached reflection: await registerShader(...) (or loadReflector()) before compiling its kernels`,
  );
}
