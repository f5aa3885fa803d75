// Builds the library and the command line for Node and bundlers: dist/index.js, dist/cli.js.
// WGSL is inlined (import.meta.glob), wgsl_reflect bundled; `webgpu` (Dawn) stays an import.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: {
    alias: { wgsl_reflect: fileURLToPath(new URL('./node_modules/wgsl_reflect/wgsl_reflect.module.js', import.meta.url)) },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    minify: false,
    sourcemap: true,
    ssr: true,
    lib: { entry: { index: 'src/index.ts', cli: 'src/cli.ts' }, formats: ['es'] },
    rollupOptions: { external: ['webgpu', /^node:/] },
  },
});
