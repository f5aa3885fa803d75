/**
 * The README's complete example (the ```ts readme-example block), as a user
 * copies it: type-checked under `strict` against the package entry, then run
 * in Node on Dawn. It trains, saves a checkpoint, resumes in a fresh model and
 * throws if the resumed run is not bit-identical.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const dir = join(root, 'test-output', 'readme');

function example(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /```ts readme-example\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no ```ts readme-example block');
  return m[1]!;
}

describe('README example', () => {
  it('type-checks under strict against the package entry', () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'example.ts'), `${example()}\nexport {};\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.json',
        compilerOptions: { noEmit: true, strict: true, paths: { 'webgpu-rnn': ['../../src/node.ts'] } },
        include: [],
        files: ['example.ts'],
      }),
    );
    // tsc exits non-zero (and execFileSync throws with its output) on any error.
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
  }, 120_000);

  it('runs: trains, saves, resumes bit-identically, evaluates', async () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'run.ts');
    writeFileSync(file, example().replace("from 'webgpu-rnn'", `from ${JSON.stringify(join(root, 'src/node.ts'))}`));
    const logs: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void logs.push(a.join(' '));
    try {
      await import(/* @vite-ignore */ file);
    } finally {
      console.log = log;
    }
    const last = logs[logs.length - 1]!;
    expect(logs[0]).toContain('total parameters:');
    expect(last).toMatch(/^step 120: resumed run identical: true; held-out loss \d+\.\d+, accuracy \d\.\d\d$/);
  }, 300_000);
});
