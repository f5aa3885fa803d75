// Builds the package: dist/index.js (browsers and bundlers: no Node module in
// it), dist/node.js (Node: adds checkpoint files and Dawn as the GPU) and
// dist/cli.js (the command line). WGSL is inlined (import.meta.glob);
// wgsl_reflect becomes a chunk loaded only by loadReflector/registerShader;
// commander and cli-progress are bundled into the command line, so library
// users do not install them. `webgpu` (Dawn) and Node's own modules stay imports.
// The shaders are inlined without comments and indentation (compactWgsl: the
// reflection cache hashes them the same way).
import { defineConfig, type Plugin } from 'vite';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { compactWgsl } from './src/wgsl-compact.js';

const compactShaders: Plugin = {
  name: 'webgpu-rnn:compact-wgsl',
  enforce: 'pre',
  load(id) {
    const m = /^(.*\.wgsl)\?raw$/.exec(id);
    if (m) return `export default ${JSON.stringify(compactWgsl(readFileSync(m[1]!, 'utf8'), true))};`;
  },
};

export default defineConfig({
  plugins: [compactShaders],
  resolve: {
    alias: { wgsl_reflect: fileURLToPath(new URL('./node_modules/wgsl_reflect/wgsl_reflect.module.js', import.meta.url)) },
  },
  ssr: { noExternal: true },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    minify: false,
    sourcemap: false,
    ssr: true,
    lib: { entry: { index: 'src/index.ts', node: 'src/node.ts', cli: 'src/cli.ts' }, formats: ['es'] },
    rollupOptions: {
      external: ['webgpu', /^node:/, ...builtinModules],
      output: { chunkFileNames: 'chunks/[name]-[hash].js' },
    },
  },
});
