/**
 * The demo site: `npm run demo` serves demos/ (index + one page per
 * architecture), `npm run build` writes it as a static site to dist/demos
 * (relative links: it works from any folder of any static host).
 */
import { defineConfig } from 'vite';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export const DEMO_PAGES = ['rnn', 'lstm', 'gru', 'wavenet', 'seq2seq'] as const;
// Pages still being written are left out of the build (the tests check that the index links to every page).
const pages = DEMO_PAGES.filter((p) => existsSync(here(`./demos/${p}/index.html`)));

export default defineConfig({
  root: here('./demos'),
  base: './',
  resolve: {
    // wgsl_reflect@1.6.0's `main` is CommonJS inside a "type": "module" package.
    alias: { wgsl_reflect: here('./node_modules/wgsl_reflect/wgsl_reflect.module.js') },
  },
  server: { fs: { allow: [here('.')] } },
  build: {
    outDir: here('./dist/demos'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      input: Object.fromEntries([['index', here('./demos/index.html')], ...pages.map((p) => [p, here(`./demos/${p}/index.html`)])]),
    },
  },
});
