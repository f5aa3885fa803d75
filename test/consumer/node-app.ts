/** The Node consumer: Dawn through the package's node entry, checkpoints through files. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, loadFile, saveFile } from 'webgpu-rnn';
import { trainFive } from './train.js';

const dir = await mkdtemp(join(tmpdir(), 'webgpu-rnn-ckpt-'));
try {
  const rt = await createRuntime({ quiet: true });
  const result = await trainFive(rt, async (bytes) => {
    const path = join(dir, 'model.safetensors');
    await saveFile(path, bytes);
    return loadFile(path);
  });
  console.log(JSON.stringify({ ...result, adapter: rt.adapterInfo.architecture || rt.adapterInfo.vendor }));
  rt.destroy();
} finally {
  await rm(dir, { recursive: true, force: true });
}
process.exit(0);
