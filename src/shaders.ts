/**
 * WGSL sources, by file name without extension (`shaders/gemm.wgsl` -> `gemm`).
 *
 * Vite inlines every file under `shaders/` as a string, the same way in the
 * browser (dev server, built site), in vitest (Node on Dawn) and in the built
 * library, so there is one loading path everywhere.
 */
const files = import.meta.glob('../shaders/*.wgsl', {
  query: '?raw',
  import: 'default',
  eager: true,
}) as Record<string, string>;

export const shaderSources: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(files).map(([path, src]) => [path.replace(/^.*\//, '').replace(/\.wgsl$/, ''), src]),
);

export function shaderSource(name: string): string {
  const src = shaderSources[name];
  if (src === undefined) {
    throw new Error(
      `shader '${name}' not found: expected shaders/${name}.wgsl; have ${Object.keys(shaderSources).sort().join(', ')}`,
    );
  }
  return src;
}
