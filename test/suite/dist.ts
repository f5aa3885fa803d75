/**
 * The built package (dist/, `npm run build:lib`) for the tests that run it
 * as users do (the CLI in a child process, `npm pack`): built once and
 * shared. dist/.build-key records a hash of everything the build reads
 * (src/, shaders/, the build configs, package.json and the lockfile) and of
 * what it wrote; a test file whose sources and dist/ still match skips the
 * build, anything else (an edited source, a dist/ rebuilt or touched by
 * hand) rebuilds. A lock folder keeps two vitest processes (or workers) from
 * building into the same dist/ at once.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '../..');
const DIST = join(root, 'dist');
const KEY = join(DIST, '.build-key');
const LOCK = join(root, 'node_modules/.webgpu-rnn-build-lib.lock');
/** What `npm run build:lib` reads. */
const INPUTS = ['src', 'shaders', 'vite.lib.config.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];
/** What it writes (its own `rm` list). */
const OUTPUTS = ['dist/chunks', 'dist/types', 'dist/index.js', 'dist/node.js', 'dist/cli.js', 'dist/THIRD_PARTY_LICENSES.txt'];

function files(p: string): string[] {
  if (!existsSync(p)) return [];
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p, { recursive: true, encoding: 'utf8' })
    .map((f) => join(p, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/** sha256 over the paths (relative to the root) and contents of every file under `paths`; '' if one is missing. */
function hashOf(paths: string[]): string {
  const h = createHash('sha256');
  for (const p of paths) {
    const all = files(join(root, p));
    if (!all.length) return '';
    for (const f of all) h.update(`${relative(root, f)}\0`).update(readFileSync(f)).update('\0');
  }
  return h.digest('hex');
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Builds dist/ unless it is the build of the current sources. Synchronous (for beforeAll). */
export function ensureDist(): void {
  const t0 = Date.now();
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock older than a build can take was left by a killed process.
      if (Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 600_000) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() - t0 > 600_000) throw new Error(`ensureDist: ${LOCK} held for 10 minutes`);
      else sleep(250);
    }
  }
  try {
    const source = hashOf(INPUTS);
    const recorded = existsSync(KEY) ? readFileSync(KEY, 'utf8') : '';
    if (recorded === `${source} ${hashOf(OUTPUTS)}`) return;
    rmSync(KEY, { force: true });
    execFileSync('npm', ['run', 'build:lib', '--silent'], { cwd: root, stdio: 'pipe' });
    writeFileSync(KEY, `${source} ${hashOf(OUTPUTS)}`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
