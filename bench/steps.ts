/**
 * The browser side of bench/node-vs-browser.js: the training steps of
 * bench/train-models.js (ours only, no TF.js), run a few at a time when Node
 * asks, so that Node and Chromium take turns on the same CPU in one run.
 * `__setup(cell)` builds a trainer, `__steps(n)` times n steps (each ends
 * with `await rt.sync()`, as bench/train), `__profile()` profiles one step.
 */
import * as lib from '../src/index.js';
import { makeTrainer } from './train-models.js';

interface StepsPage {
  __adapter?: Record<string, unknown>;
  __ready?: boolean;
  __error?: string;
  __setup?: (cell: string) => void;
  __steps?: (n: number) => Promise<number[]>;
  __profile?: () => Promise<string>;
}

const page = window as unknown as StepsPage;

async function main(): Promise<void> {
  const rt = await lib.createRuntime({ quiet: true });
  const info = rt.adapterInfo;
  page.__adapter = { vendor: info.vendor, architecture: info.architecture, description: info.description, isCpu: rt.isCpu };
  let tr: ReturnType<typeof makeTrainer> | null = null;
  page.__setup = (cell) => {
    tr?.destroy();
    tr = makeTrainer(lib, rt, cell as Parameters<typeof makeTrainer>[2]);
  };
  page.__steps = async (n) => {
    const all: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      tr!.step();
      await rt.sync();
      all.push(performance.now() - t0);
    }
    return all;
  };
  page.__profile = async () => (await rt.profile(() => tr!.step())).toString(6);
  page.__ready = true;
}

main().catch((e: unknown) => {
  page.__error = e instanceof Error ? (e.stack ?? e.message) : String(e);
});
