/**
 * WGSL sources, by file name without extension (`shaders/gemm.wgsl` -> `gemm`).
 *
 * Vite inlines every file under `shaders/` as a string, the same way in the
 * browser (dev server, built site), in vitest (Node on Dawn) and in the built
 * library, so there is one loading path everywhere.
 */
import { loadReflector } from './reflect-live.js';

const files = import.meta.glob('../shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

const sources: Record<string, string> = Object.fromEntries(
  Object.entries(files).map(([path, src]) => [path.replace(/^.*\//, '').replace(/\.wgsl$/, ''), src]),
);

export const shaderSources: Readonly<Record<string, string>> = sources;

/**
 * Adds a WGSL source under `name`, for kernels outside `shaders/` (a user's
 * own op). Names of shipped shaders cannot be replaced. The source is there at
 * once; the promise resolves when wgsl_reflect, which reflects it, has loaded
 * (a dynamic import: bundles of apps that register no shader leave it out):
 * await it before compiling the shader's kernels.
 */
export function registerShader(name: string, code: string): Promise<void> {
  if (name in files || Object.keys(files).some((p) => p.endsWith(`/${name}.wgsl`))) {
    throw new Error(`registerShader: '${name}' is a built-in shader (shaders/${name}.wgsl)`);
  }
  if (sources[name] !== undefined && sources[name] !== code) {
    throw new Error(`registerShader: '${name}' is already registered with different code`);
  }
  sources[name] = code;
  return loadReflector();
}

/**
 * A line `// #include name` pulls in shaders/name.wgsl (once per file):
 * the recurrent cells share their bindings, matrix products and entry points
 * this way, each cell file holding only its formulas.
 */
function expand(name: string, src: string, seen: Set<string>): string {
  return src.replace(/^\/\/ #include (\w+)\s*$/gm, (_, inc: string) => {
    if (seen.has(inc)) return `// (${inc} already included)`;
    seen.add(inc);
    const body = sources[inc];
    if (body === undefined) throw new Error(`shaders/${name}.wgsl includes '${inc}', which does not exist`);
    return expand(inc, body, seen);
  });
}

export function shaderSource(name: string): string {
  const raw = sources[name];
  const src = raw === undefined ? undefined : expand(name, raw, new Set([name]));
  if (src === undefined) {
    throw new Error(
      `shader '${name}' not found: expected shaders/${name}.wgsl; have ${Object.keys(shaderSources).sort().join(', ')}`,
    );
  }
  return src;
}
