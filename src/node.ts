/**
 * The Node entry of webgpu-rnn (the `node` export condition, or
 * 'webgpu-rnn/node'): everything the browser entry has, plus checkpoint files
 * and Dawn (the `webgpu` package, an optional peer dependency) as the GPU of
 * `createRuntime()`. Browser bundles resolve src/index.ts instead and never
 * see Node modules.
 */
// WebGPU's types (@webgpu/types) are written against TypeScript's DOM lib: a
// Node project that lists only ES libs still type-checks with no extra config.
// (Not in the browser entry, where it would clash with a worker's lib.)
/// <reference lib="dom" preserve="true" />
/// <reference types="@webgpu/types" preserve="true" />
import { dawnGpu } from './dawn.js';
import { setGpuProvider } from './runtime.js';

export * from './index.js';
export { saveFile, loadFile, saveSafetensors, loadSafetensors } from './io/checkpoint-node.js';
// CSV through papaparse (CommonJS: bundled for Node only, it would bring node:module into browser bundles).
export { readCsvColumn } from './train/csv.js';

setGpuProvider(dawnGpu);
