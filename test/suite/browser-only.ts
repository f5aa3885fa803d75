/**
 * Cases that need a browser: run by test/browser.test.ts in headless Chromium
 * only (Node has no IndexedDB or DOM downloads).
 */
import { Adam, SequenceToVector, loadCheckpoint, loadFromIndexedDB, saveCheckpoint, saveToIndexedDB, downloadCheckpoint } from '../../src/index.js';
import type { Case } from './kernels.js';

export const browserOnlyCases: Case[] = [
  {
    name: 'checkpoint: save to IndexedDB, load into a fresh model and optimizers, bit-identical; download link',
    async run(rt, seed) {
      const mk = (s: number) => new SequenceToVector(rt, { input: 'dense', inputSize: 2, cell: 'gru', hiddenSize: 6, outputSize: 1, seed: s });
      const a = mk(seed);
      const optA = new Adam(a.parameters(), { lr: 0.01 });
      optA.step(); // non-trivial optimizer state
      await rt.sync();
      const bytes = await saveCheckpoint(a, optA, { step: 1, metadata: { note: 'browser' } });
      const key = `test-${seed}`;
      await saveToIndexedDB(key, bytes);
      const back = await loadFromIndexedDB(key);
      if (!back || back.length !== bytes.length || back.some((v, i) => v !== bytes[i])) throw new Error('IndexedDB returned different bytes');
      if ((await loadFromIndexedDB(`missing-${seed}`)) !== undefined) throw new Error('a missing key should load as undefined');
      const b = mk((seed + 1) >>> 0); // seeds are u32
      const optB = new Adam(b.parameters(), { lr: 0.01 });
      const info = await loadCheckpoint(back, b, optB);
      if (info.step !== 1 || info.metadata.note !== 'browser') throw new Error(`metadata: ${JSON.stringify(info)}`);
      const [sa, sb] = [await a.stateDict(), await b.stateDict()];
      for (const k of Object.keys(sa)) {
        if (sa[k]!.some((v, i) => v !== sb[k]![i])) throw new Error(`parameter ${k} differs after the round trip`);
      }
      // The download path builds a Blob link and clicks it: no error, and the object URL is made.
      const made: string[] = [];
      const orig = URL.createObjectURL;
      URL.createObjectURL = (o: Blob | MediaSource) => {
        const u = orig.call(URL, o);
        made.push(u);
        return u;
      };
      try {
        downloadCheckpoint(bytes, 'model.safetensors');
      } finally {
        URL.createObjectURL = orig;
      }
      if (made.length !== 1) throw new Error('downloadCheckpoint made no object URL');
      a.destroy();
      b.destroy();
    },
  },
];
