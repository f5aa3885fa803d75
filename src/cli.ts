#!/usr/bin/env node
/**
 * `webgpu-rnn`: for now, the runtime demo (a linear model fitted on the GPU).
 * The training command (`webgpu-rnn train`) comes with the training issue.
 */
import { linearRegressionDemo } from './demo.js';
import { createRuntime } from './runtime.js';

async function main(): Promise<void> {
  const rt = await createRuntime();
  const info = rt.adapterInfo;
  console.log(`adapter: ${info.vendor || '?'} ${info.architecture || ''} ${info.description || ''}`.trim());
  const res = await linearRegressionDemo(rt, { log: (s) => console.log(s) });
  const first = res.losses[0]!.loss;
  const last = res.losses[res.losses.length - 1]!.loss;
  console.log(
    `linear regression, 512x32 -> 8: loss ${first.toExponential(3)} -> ${last.toExponential(3)}; ` +
      `${res.dispatchesPerStep} dispatches and ${res.submitsPerStep} submit per step, ${res.msPerStep.toFixed(2)} ms/step`,
  );
  rt.destroy();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`webgpu-rnn: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
