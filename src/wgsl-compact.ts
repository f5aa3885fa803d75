/**
 * WGSL without comments, indentation, runs of spaces, spaces beside the
 * punctuation that never joins another token (`( ) { } [ ] , ; :`) and blank
 * lines. The
 * published build ships the shaders this way (vite.lib.config.ts; about 30%
 * smaller), and the reflection cache hashes sources this way, so a shader's
 * hash is the same in the build and in the sources. `keepIncludes` keeps the
 * `// #include name` lines that src/shaders.ts expands.
 */
export function compactWgsl(code: string, keepIncludes = false): string {
  return code
    .split('\n')
    .map((line) => (keepIncludes && /^\s*\/\/ #include \w+\s*$/.test(line) ? line.trim() : line.replace(/\/\/.*$/, '').trim().replace(/\s+/g, ' ').replace(/ ?([(){}[\],;:]) ?/g, '$1')))
    .filter((line) => line !== '')
    .join('\n');
}
