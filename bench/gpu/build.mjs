// Bundles the GPU kit (bench/gpu/kit.ts) into one ES module with esbuild:
// the WGSL files inlined (what Vite's import.meta.glob does for src/shaders.ts),
// wgsl_reflect bundled from its ES module file, `webgpu`'s own index.js bundled
// too, so that the bundle needs no node_modules: Dawn is loaded from
// <bundle dir>/dist/linux-x64/dawn.node (the path that index.js computes from
// import.meta.url). Usage: node bench/gpu/build.mjs OUTFILE
import { build } from 'esbuild';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const out = process.argv[2] ?? `${root}.gpu/kit.mjs`;

/** src/shaders.ts: its import.meta.glob('../shaders/*.wgsl', ...) becomes an object of the files' text. */
const inlineShaders = {
  name: 'inline-wgsl-glob',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]shaders\.ts$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const files = Object.fromEntries(
        readdirSync(`${root}shaders`)
          .filter((f) => f.endsWith('.wgsl'))
          .sort()
          .map((f) => [`../shaders/${f}`, readFileSync(`${root}shaders/${f}`, 'utf8')]),
      );
      const re = /import\.meta\.glob\([^)]*\)/s;
      if (!re.test(src)) throw new Error('bench/gpu/build.mjs: src/shaders.ts no longer calls import.meta.glob');
      return { contents: src.replace(re, JSON.stringify(files)), loader: 'ts' };
    });
  },
};

await build({
  entryPoints: [`${root}bench/gpu/kit.ts`],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Some bundled CommonJS (webgpu's `debug` dependency) calls require(): give the ES module one.
  banner: { js: "import { createRequire as __kitRequire } from 'node:module'; const require = __kitRequire(import.meta.url);" },
  alias: { wgsl_reflect: `${root}node_modules/wgsl_reflect/wgsl_reflect.module.js` },
  plugins: [inlineShaders],
  logLevel: 'warning',
  legalComments: 'none',
});
console.log(`bundled ${out}`);
