// Builds the package: dist/index.js (browsers and bundlers: no Node module in
// it), dist/node.js (Node: adds checkpoint files and Dawn as the GPU) and
// dist/cli.js (the command line). WGSL is inlined (import.meta.glob);
// wgsl_reflect becomes a chunk loaded only by loadReflector/registerShader;
// commander and cli-progress are bundled into the command line, so library
// users do not install them. `webgpu` (Dawn) and Node's own modules stay imports.
// The shaders are inlined without comments and indentation (compactWgsl: the
// reflection cache hashes them the same way).
import { defineConfig, type Plugin } from 'vite';
import { readFileSync, readdirSync } from 'node:fs';
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

/**
 * dist/THIRD_PARTY_LICENSES.txt: name, version and license text of every
 * package bundled into dist/ (their MIT licenses ask for the notice to travel
 * with the code).
 */
const thirdPartyLicenses: Plugin = {
  name: 'webgpu-rnn:third-party-licenses',
  generateBundle(_options, bundle) {
    const roots = new Set<string>();
    for (const chunk of Object.values(bundle)) {
      if (chunk.type !== 'chunk') continue;
      for (const id of chunk.moduleIds) {
        const m = /^(.*\/node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(id.replace(/\\/g, '/'));
        if (m) roots.add(m[1]!);
      }
    }
    const parts = [...roots].sort().map((root) => {
      const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { name: string; version: string; license?: string };
      const file = readdirSync(root).find((f) => /^(licen[sc]e|copying)/i.test(f));
      const text = file ? readFileSync(`${root}/${file}`, 'utf8').trim() : `(no license file; package.json says ${pkg.license ?? 'nothing'})`;
      return `${pkg.name}@${pkg.version} (${pkg.license ?? 'unknown'})\n\n${text}\n`;
    });
    const head = 'webgpu-rnn bundles the following packages into dist/ (the command line: commander, cli-progress and its\ndependencies; the library: wgsl_reflect). Their licenses:\n';
    this.emitFile({ type: 'asset', fileName: 'THIRD_PARTY_LICENSES.txt', source: [head, ...parts].join(`\n${'-'.repeat(78)}\n\n`) });
  },
};

export default defineConfig({
  plugins: [compactShaders, thirdPartyLicenses],
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
