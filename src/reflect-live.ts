/**
 * Live WGSL reflection with wgsl_reflect, for shaders that are not in the
 * reflection cache (src/shaders.reflect.json): a user's `registerShader`
 * kernels, or a shipped shader edited during development. wgsl_reflect is
 * imported dynamically, so bundles that never call `loadReflector` leave it out.
 */
import type { VariableInfo, WgslReflect } from 'wgsl_reflect';
import { setLiveParser, type PlainReflection, type PlainVar } from './reflect.js';

function plainVar(v: VariableInfo): PlainVar {
  const p: PlainVar = { name: v.name, group: v.group, binding: v.binding, resourceType: v.resourceType, access: v.access, typeName: v.type.name, size: v.size };
  if (v.members) p.members = v.members.map((m) => ({ name: m.name, offset: m.offset, type: m.type.name }));
  return p;
}

function parse(Reflect: typeof WgslReflect, code: string): PlainReflection {
  const r = new Reflect(code);
  const keep = (v: VariableInfo) => v.resourceType === 0 || v.resourceType === 1;
  return {
    entries: r.entry.compute.map((f) => ({ name: f.name, resources: f.resources.filter(keep).map(plainVar) })),
    storage: r.storage.map(plainVar),
    uniforms: r.uniforms.map(plainVar),
    overrides: r.overrides.map((o) => o.name),
  };
}

let loading: Promise<typeof WgslReflect> | null = null;

function reflector(): Promise<typeof WgslReflect> {
  loading ??= import('wgsl_reflect').then(
    (m) => {
      setLiveParser((code) => parse(m.WgslReflect, code));
      return m.WgslReflect;
    },
    (e: unknown) => {
      loading = null;
      throw e;
    },
  );
  return loading;
}

/** Loads wgsl_reflect (once); afterwards shaders missing from the cache are parsed live. */
export async function loadReflector(): Promise<void> {
  await reflector();
}

/** A live parse with wgsl_reflect, as plain data. */
export async function reflectWgsl(code: string): Promise<PlainReflection> {
  return parse(await reflector(), code);
}
