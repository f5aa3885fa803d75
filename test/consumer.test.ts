/**
 * The package as its users get it: `npm pack` of dist/ as prepack builds it
 * (`npm run build:lib`, shared with the CLI tests: test/suite/dist.ts), installed from the tarball into two fresh projects in a temporary folder,
 * with the consumers in test/consumer/ copied in:
 *
 * - web: no `webgpu` (Dawn) installed, since it is an optional peer; `tsc
 *   --strict` with skipLibCheck false; esbuild --bundle --platform=browser
 *   and a Vite build, both with no configuration; both bundles train five
 *   steps in headless Chromium (SwiftShader where there is no GPU).
 * - node: Dawn linked from this repository; `tsc --strict` (nodenext, the
 *   `node` export condition) compiles the consumer, which trains five steps
 *   and round-trips a checkpoint through files; `require('webgpu-rnn')` works.
 *
 * No network: the tarball and @webgpu/types (packed from this repository's
 * node_modules) are installed with `npm install --offline`; Dawn, @types/node
 * and the tools (tsc, esbuild, Vite, Chromium through puppeteer-core) are this
 * repository's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, ROOT, runPage } from './browser/harness.js';
import { ensureDist } from './suite/dist.js';

const tmp = mkdtempSync(join(tmpdir(), 'webgpu-rnn-consumer-'));
const webDir = join(tmp, 'web');
const nodeDir = join(tmp, 'node');
const fixtures = join(ROOT, 'test/consumer');
const bin = (p: string) => join(ROOT, 'node_modules', p);

// npm run by `npm test` passes its own package's settings down: the child npm must not see them.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_package_|npm_lifecycle_|INIT_CWD$)/.test(k)));
env.npm_config_update_notifier = 'false';

/** Runs a command; on failure throws with its output. */
function sh(cmd: string, args: string[], cwd: string, timeout = 120_000): string {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}${r.error ? `\n${r.error.message}` : ''}`);
  }
  return r.stdout;
}

/** `sh`, without blocking: for commands that can run side by side. */
function shAsync(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, env });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.stderr.on('data', (d: Buffer) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${code}:\n${out}`))));
  });
}

let tarball = '';
let setupError: string | undefined;

function project(dir: string, tsconfig: object, files: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${dir.split('/').pop()}`, private: true, type: 'module' }));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  for (const f of files) copyFileSync(join(fixtures, f), join(dir, f));
}

function install(dir: string, tarballs: string[]): void {
  const args = ['install', ...tarballs, '--no-audit', '--no-fund', '--ignore-scripts'];
  try {
    sh('npm', [...args, '--offline'], dir);
  } catch {
    sh('npm', [...args, '--prefer-offline'], dir); // a cache that lacks something: the registry
  }
}

beforeAll(() => {
  try {
    // prepack builds dist/ (npm run build:lib) for a real `npm pack`; here dist/ is the build the CLI
    // tests share (ensureDist: the same build:lib, skipped when the sources have not changed since),
    // so the pack skips the script, checked by 'the packed package ... prepack' below.
    ensureDist();
    const out = sh('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp, '--silent'], ROOT, 240_000).trim().split('\n');
    tarball = join(tmp, out[out.length - 1]!);
    const types = sh('npm', ['pack', bin('@webgpu/types'), '--silent'], tmp).trim().split('\n');
    const typesTarball = join(tmp, types[types.length - 1]!);

    const strict = { strict: true, skipLibCheck: false, target: 'ES2022', noEmit: true };
    project(webDir, { compilerOptions: { ...strict, module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], types: [] }, include: ['*.ts'] }, ['train.ts', 'web-app.ts', 'index.html']);
    install(webDir, [tarball, typesTarball]);

    project(nodeDir, { compilerOptions: { ...strict, noEmit: false, module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022'], types: ['node'], outDir: 'out' }, include: ['*.ts'] }, ['train.ts', 'node-app.ts']);
    install(nodeDir, [tarball, typesTarball]);
    // What `npm install webgpu` and `npm install -D @types/node` would add, without downloading 132 MB of Dawn again.
    symlinkSync(bin('webgpu'), join(nodeDir, 'node_modules/webgpu'), 'dir');
    mkdirSync(join(nodeDir, 'node_modules/@types'), { recursive: true });
    symlinkSync(bin('@types/node'), join(nodeDir, 'node_modules/@types/node'), 'dir');
  } catch (e) {
    setupError = e instanceof Error ? e.message : String(e);
  }
}, 300_000);

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const ready = () => expect(setupError, setupError).toBeUndefined();

describe('the packed package', () => {
  it('is built by npm pack (prepack: npm run build:lib, the build these tests pack)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepack).toBe('npm run build:lib');
  });

  it('holds the built library, its types, the CLI and its text, README and the licenses only', () => {
    ready();
    const files = sh('tar', ['tzf', tarball], tmp).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/node.js', 'dist/cli.js', 'dist/types/index.d.ts', 'dist/types/node.d.ts', 'dist/THIRD_PARTY_LICENSES.txt', 'data/sonnets.txt']) {
      expect(files, f).toContain(f);
    }
    const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|data\/sonnets\.txt|dist\/(\w+\.js|THIRD_PARTY_LICENSES\.txt|chunks\/[\w.-]+\.js|types\/.+\.d\.ts))$/.test(f));
    expect(stray).toEqual([]);
  });

  it('installs for the browser without Dawn, the CLI packages or wgsl_reflect', () => {
    ready();
    expect(readdirSync(join(webDir, 'node_modules')).filter((f) => !f.startsWith('.')).sort()).toEqual(['@webgpu', 'webgpu-rnn']);
    expect(readdirSync(join(webDir, 'node_modules/@webgpu'))).toEqual(['types']);
  });

  it('in Node without `webgpu` installed, createRuntime says in one line what to install', () => {
    ready();
    const script = "import('webgpu-rnn').then((m) => m.createRuntime()).then(() => console.log('no error'), (e) => console.log(e.message))";
    const out = sh(process.execPath, ['--input-type=module', '-e', script], webDir).trim();
    expect(out).toMatch(/^createRuntime: WebGPU in Node needs Dawn: run `npm install webgpu`/);
    expect(out.split('\n')).toHaveLength(1);
  });

  it('type-checks with strict and skipLibCheck false, for the browser (Bundler) and for Node (NodeNext, ES libs only)', async () => {
    ready();
    await Promise.all([webDir, nodeDir].map((dir) => shAsync(process.execPath, [bin('typescript/bin/tsc'), '-p', dir], dir)));
    expect(existsSync(join(nodeDir, 'out/node-app.js'))).toBe(true);
  });

  it('require() works (Node 20.19+ loads the ES module)', () => {
    ready();
    const out = sh(process.execPath, ['-e', "const m = require('webgpu-rnn'); console.log(typeof m.createRuntime, typeof m.LSTM, typeof m.saveFile)"], nodeDir);
    expect(out.trim()).toBe('function function function');
  });

  it('the webgpu-rnn command is installed and runs without commander or cli-progress installed (bundled)', () => {
    ready();
    expect(existsSync(join(nodeDir, 'node_modules/commander'))).toBe(false);
    const out = sh(join(nodeDir, 'node_modules/.bin/webgpu-rnn'), ['--help'], nodeDir);
    expect(out).toMatch(/train/);
    expect(out).toMatch(/sample/);
  });

  it('Node: trains five steps on Dawn and restores the checkpoint from a file', () => {
    ready();
    const out = sh(process.execPath, [join(nodeDir, 'out/node-app.js')], nodeDir, 120_000);
    const r = JSON.parse(out.trim().split('\n').pop()!) as { losses: number[]; restoredStep: number; restoreDiff: number; checkpointBytes: number };
    console.log(`consumer (Node): losses ${r.losses.map((l) => l.toFixed(4)).join(' ')}`);
    expect(r.losses).toHaveLength(5);
    expect(r.losses.every(Number.isFinite)).toBe(true);
    expect(r.losses[4]!).toBeLessThan(r.losses[0]!);
    expect(r.restoredStep).toBe(5);
    expect(r.restoreDiff).toBe(0); // a checkpoint restores parameters bit for bit
  });

  describe('bundled for the browser with no configuration', () => {
    const site = join(webDir, 'dist');
    let server: Server | undefined;
    let url = '';

    it('esbuild --bundle --platform=browser; the smallest app stays small and without wgsl_reflect', async () => {
      ready();
      const r = await build({ absWorkingDir: webDir, entryPoints: ['web-app.ts'], bundle: true, platform: 'browser', format: 'esm', minify: true, write: false, logLevel: 'silent' });
      const js = r.outputFiles[0]!.text;
      expect(js).not.toMatch(/node:fs|"webgpu"|WgslParser/);
      // The minimal app the README quotes sizes for: createRuntime + LSTM + Adam.
      writeFileSync(join(webDir, 'minimal.js'), "import { createRuntime, LSTM, Adam } from 'webgpu-rnn';\nconst rt = await createRuntime();\nconst l = new LSTM(rt, { inputSize: 8, hiddenSize: 16 });\nnew Adam(l.parameters());\n");
      const m = await build({ absWorkingDir: webDir, entryPoints: ['minimal.js'], bundle: true, platform: 'browser', format: 'esm', minify: true, write: false, logLevel: 'silent' });
      const bytes = m.outputFiles[0]!.contents;
      console.log(`createRuntime + LSTM + Adam, esbuild --minify: ${(bytes.length / 1000).toFixed(1)} kB, ${(gzipSync(bytes).length / 1000).toFixed(1)} kB gzipped`);
      // 456 kB before wgsl_reflect went lazy and the shaders and cache were compacted; 142.7 kB then,
      // 156.5 kB with the Module contract and the grouped optimizer (its state dict, checks). Every shader
      // still ships (kernels name theirs by string): tree-shaking them is the next saving (~40 kB).
      // 161.9 kB with rt.profile (src/profile.ts, 4.4 kB minified: a Runtime method, so never shaken out);
      // 167.2 kB with the cell table (src/nn/cells.ts) and the recurrent GEMM path (+5.3 kB).
      expect(bytes.length).toBeLessThan(170_000);
      mkdirSync(join(webDir, 'esbuild'), { recursive: true });
      writeFileSync(join(webDir, 'esbuild/app.js'), js);
    });

    it('vite build (no vite.config)', () => {
      ready();
      sh(process.execPath, [bin('vite/bin/vite.js'), 'build', '--logLevel', 'warn'], webDir);
      const assets = readdirSync(join(site, 'assets')).filter((f) => f.endsWith('.js'));
      expect(assets.length).toBeGreaterThan(0);
      for (const f of assets) expect(readFileSync(join(site, 'assets', f), 'utf8')).not.toMatch(/node:fs|WgslParser/);
      // The esbuild bundle is served from the same site.
      writeFileSync(join(site, 'esbuild.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="./esbuild-app.js"></script>');
      copyFileSync(join(webDir, 'esbuild/app.js'), join(site, 'esbuild-app.js'));
    });

    it('both bundles train five steps in headless Chromium and restore the checkpoint from IndexedDB', async () => {
      ready();
      expect(existsSync(join(site, 'esbuild-app.js')), 'the two builds above must pass first').toBe(true);
      server = createServer((req, res) => {
        const path = join(site, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
        if (!path.startsWith(site) || !existsSync(path) || !statSync(path).isFile()) return res.writeHead(404).end();
        const type = { '.html': 'text/html', '.js': 'text/javascript' }[extname(path)] ?? 'application/octet-stream';
        res.writeHead(200, { 'content-type': type }).end(readFileSync(path));
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const addr = server.address();
      url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
      const chrome = await launchBrowser();
      try {
        for (const page of ['index.html', 'esbuild.html']) {
          const run = await runPage(chrome.browser, `${url}/${page}`, { timeoutMs: 90_000 });
          expect(run.errors, `${page}:\n${run.log.join('\n')}`).toEqual([]);
          const r = run.value as { losses: number[]; restoredStep: number; restoreDiff: number };
          console.log(`consumer (Chromium, ${page === 'index.html' ? 'Vite' : 'esbuild'}): losses ${r.losses.map((l) => l.toFixed(4)).join(' ')}`);
          expect(r.losses).toHaveLength(5);
          expect(r.losses[4]!).toBeLessThan(r.losses[0]!);
          expect(r.restoredStep).toBe(5);
          expect(r.restoreDiff).toBe(0);
        }
      } finally {
        await chrome.close();
        await new Promise((resolve) => server!.close(resolve));
      }
    }, 180_000);
  });
});
