import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  resolve: {
    // wgsl_reflect@1.6.0's `main` is CommonJS inside a "type": "module" package.
    alias: { wgsl_reflect: fileURLToPath(new URL('./node_modules/wgsl_reflect/wgsl_reflect.module.js', import.meta.url)) },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Dawn as the GPU and wgsl_reflect loaded, as the package's Node entry would.
    setupFiles: ['test/setup-node.ts'],
    // SwiftShader runs every shader on the CPU's two cores: tests are serial and slow-ish.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
