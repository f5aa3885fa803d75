import { reflectShaderSource, type PlainReflection, type PlainVar } from './reflect.js';
import { shaderSource } from './shaders.js';

/** Uniform parameters of a dispatch, by the WGSL struct's field names. */
export type Params = Record<string, number>;

/**
 * What a kernel is, in a few lines: the WGSL file and entry point, the
 * `override` constants it is compiled with, and how its dispatch is sized.
 * Binding names, access modes and the uniform layout come from the WGSL.
 */
export interface KernelDesc {
  /** Name used in errors, labels and the pipeline cache. */
  name: string;
  /** File under `shaders/` without `.wgsl`. */
  shader: string;
  entry: string;
  overrides?: Record<string, number | boolean>;
  /**
   * Which bindings the bind group layout holds: `'entry'` (default) those the
   * entry point uses; `'module'` every binding of the file, so that all entry
   * points of the file (a forward/backward pair) share one layout and one bind group.
   */
  layout?: 'entry' | 'module';
  /** Workgroups to dispatch for these parameters. */
  grid: (p: Params) => readonly [number, number?, number?];
  /**
   * Elements each storage binding must hold, counted from the bound tensor's
   * first element, for these parameters. Bindings not listed need one element.
   */
  extents?: (p: Params) => Record<string, number>;
}

export type Access = 'read' | 'read_write';

export interface StorageBinding {
  name: string;
  binding: number;
  access: Access;
  /** Field of the uniform struct that receives this tensor's element offset, if the struct has `off<Name>`. */
  offsetField?: string;
}

export interface UniformField {
  name: string;
  offset: number;
  type: 'u32' | 'i32' | 'f32';
}

export interface UniformBinding {
  /** The variable's name (`dims`). */
  name: string;
  /** The struct's name (`GemmDims`). */
  struct: string;
  binding: number;
  /** Struct size in bytes (as WGSL lays it out). */
  size: number;
  fields: UniformField[];
}

interface Reflected {
  reflect: PlainReflection;
  module: GPUShaderModule;
}

/** A compiled kernel: pipeline, layout, and the reflected binding table. */
export class Kernel {
  constructor(
    readonly desc: KernelDesc,
    readonly pipeline: GPUComputePipeline,
    readonly layout: GPUBindGroupLayout,
    /** Identifies the layout: kernels with equal `layoutKey` accept the same bind groups. */
    readonly layoutKey: string,
    readonly storage: StorageBinding[],
    readonly uniform: UniformBinding | null,
  ) {}

  get name(): string {
    return this.desc.name;
  }

  /**
   * Encodes `params` into the uniform struct's bytes. Every field must be
   * given, except the `off*` fields that binding fills in from tensor offsets.
   */
  encodeParams(params: Params, auto: Params): Uint32Array {
    const u = this.uniform;
    if (!u) {
      if (Object.keys(params).length) throw new Error(`kernel ${this.name}: takes no parameters, got ${Object.keys(params).join(', ')}`);
      return new Uint32Array(0);
    }
    const words = new Uint32Array(Math.ceil(u.size / 16) * 4);
    const f32 = new Float32Array(words.buffer);
    const i32 = new Int32Array(words.buffer);
    for (const key of Object.keys(params)) {
      if (!u.fields.some((f) => f.name === key)) {
        throw new Error(
          `kernel ${this.name}: unknown parameter '${key}'; ${u.name} (${u.struct}) has ${u.fields.map((f) => f.name).join(', ')}`,
        );
      }
    }
    for (const f of u.fields) {
      const v = f.name in params ? params[f.name] : auto[f.name];
      if (v === undefined) throw new Error(`kernel ${this.name}: parameter '${f.name}' (${f.type}) is missing`);
      const w = f.offset / 4;
      if (f.type === 'f32') f32[w] = v;
      else if (f.type === 'i32') {
        if (!Number.isInteger(v)) throw new Error(`kernel ${this.name}: parameter '${f.name}' must be an integer, got ${v}`);
        i32[w] = v;
      } else {
        if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
          throw new Error(`kernel ${this.name}: parameter '${f.name}' must be a u32, got ${v}`);
        }
        words[w] = v;
      }
    }
    return words;
  }
}

const reflections = new WeakMap<GPUDevice, Map<string, Reflected>>();

function reflectShader(device: GPUDevice, shader: string): Reflected {
  let perDevice = reflections.get(device);
  if (!perDevice) reflections.set(device, (perDevice = new Map()));
  let r = perDevice.get(shader);
  if (!r) {
    const code = shaderSource(shader);
    r = { reflect: reflectShaderSource(shader, code), module: device.createShaderModule({ code, label: shader }) };
    perDevice.set(shader, r);
  }
  return r;
}

export function shaderModule(device: GPUDevice, shader: string): GPUShaderModule {
  return reflectShader(device, shader).module;
}

function accessOf(v: PlainVar): Access {
  return v.access === 'read_write' || v.access === 'write' ? 'read_write' : 'read';
}

function uniformOf(v: PlainVar): UniformBinding {
  const members = v.members;
  if (!members) throw new Error(`uniform '${v.name}' must be a struct`);
  const fields: UniformField[] = members.map((m) => {
    const t = m.type;
    if (t !== 'u32' && t !== 'i32' && t !== 'f32') {
      throw new Error(`uniform '${v.name}.${m.name}': type ${t} not supported (u32, i32, f32 only)`);
    }
    return { name: m.name, offset: m.offset, type: t };
  });
  return { name: v.name, struct: v.typeName, binding: v.binding, size: v.size, fields };
}

/**
 * Compiles (or fetches from `cache`) the kernel described by `desc`.
 * Layouts are cached by shader and binding set, pipelines by name, entry and overrides.
 */
export function compileKernel(
  device: GPUDevice,
  desc: KernelDesc,
  caches: { pipelines: Map<string, Kernel>; layouts: Map<string, GPUBindGroupLayout> },
): Kernel {
  const key = `${desc.name}:${desc.shader}:${desc.entry}:${JSON.stringify(desc.overrides ?? {})}:${desc.layout ?? 'entry'}`;
  const hit = caches.pipelines.get(key);
  if (hit) return hit;

  const { reflect, module } = reflectShader(device, desc.shader);
  const fn = reflect.entries.find((f) => f.name === desc.entry);
  if (!fn) {
    throw new Error(
      `kernel ${desc.name}: no @compute entry point '${desc.entry}' in shaders/${desc.shader}.wgsl (has ${reflect.entries.map((f) => f.name).join(', ')})`,
    );
  }
  const vars = (desc.layout === 'module' ? [...reflect.storage, ...reflect.uniforms] : fn.resources).filter(
    (v) => v.resourceType === 0 || v.resourceType === 1,
  );
  const seen = new Set<number>();
  const storage: StorageBinding[] = [];
  let uniform: UniformBinding | null = null;
  for (const v of vars) {
    if (v.group !== 0) throw new Error(`kernel ${desc.name}: binding '${v.name}' is in group ${v.group}; only group 0 is used`);
    if (seen.has(v.binding)) continue;
    seen.add(v.binding);
    if (v.resourceType === 0) {
      if (uniform) throw new Error(`kernel ${desc.name}: more than one uniform ('${uniform.name}', '${v.name}')`);
      uniform = uniformOf(v);
    } else {
      storage.push({ name: v.name, binding: v.binding, access: accessOf(v) });
    }
  }
  if (uniform) {
    for (const s of storage) {
      const field = `off${s.name[0]!.toUpperCase()}${s.name.slice(1)}`;
      if (uniform.fields.some((f) => f.name === field)) s.offsetField = field;
    }
  }
  storage.sort((a, b) => a.binding - b.binding);

  const layoutKey = `${desc.shader}|${desc.layout === 'module' ? '*' : desc.entry}|${[...seen].sort().join(',')}`;
  let layout = caches.layouts.get(layoutKey);
  if (!layout) {
    const entries: GPUBindGroupLayoutEntry[] = storage.map((s) => ({
      binding: s.binding,
      visibility: GPUShaderStage.COMPUTE,
      buffer: { type: s.access === 'read' ? 'read-only-storage' : 'storage' },
    }));
    if (uniform) {
      entries.push({
        binding: uniform.binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: Math.ceil(uniform.size / 16) * 16 },
      });
    }
    layout = device.createBindGroupLayout({ entries, label: layoutKey });
    caches.layouts.set(layoutKey, layout);
  }
  const constants: Record<string, number> = {};
  for (const [k, v] of Object.entries(desc.overrides ?? {})) {
    if (!reflect.overrides.includes(k)) {
      throw new Error(
        `kernel ${desc.name}: shaders/${desc.shader}.wgsl has no override '${k}' (has ${reflect.overrides.join(', ') || 'none'})`,
      );
    }
    constants[k] = typeof v === 'boolean' ? Number(v) : v;
  }
  const pipeline = device.createComputePipeline({
    label: desc.name,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout], label: desc.name }),
    compute: { module, entryPoint: desc.entry, constants },
  });
  const kernel = new Kernel(desc, pipeline, layout, layoutKey, storage, uniform);
  caches.pipelines.set(key, kernel);
  return kernel;
}
