// @ts-nocheck -- plain Node (20+).
/** What the Node-side benchmark scripts share: the built library, `--name value` arguments, medians. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built library for Node (dist/node.js: Dawn as the GPU); exits with a clear message (code 2) when it is missing. */
export async function loadLib(script) {
  const dist = fileURLToPath(new URL('../dist/node.js', import.meta.url));
  if (!existsSync(dist)) {
    console.error(`${script}: dist/node.js is missing: run \`npm run build:lib\` first`);
    process.exit(2);
  }
  return import(dist);
}

/** The value after `--name` on the command line, or `def`. */
export function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
}

export function median(a) {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
