/** The browser consumer: navigator.gpu, checkpoints through IndexedDB. Reports to the test through window. */
import { createRuntime, loadFromIndexedDB, saveToIndexedDB } from 'webgpu-rnn';
import { trainFive } from './train.js';

const page = window as unknown as { __results?: unknown; __adapter?: unknown; __done?: boolean };

async function main(): Promise<void> {
  try {
    const rt = await createRuntime({ quiet: true });
    page.__adapter = { architecture: rt.adapterInfo.architecture, vendor: rt.adapterInfo.vendor };
    page.__results = await trainFive(rt, async (bytes) => {
      await saveToIndexedDB('consumer-test', bytes);
      const back = await loadFromIndexedDB('consumer-test');
      if (!back) throw new Error('IndexedDB lost the checkpoint');
      return back;
    });
    rt.destroy();
  } catch (e) {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  } finally {
    page.__done = true;
  }
}

void main();
