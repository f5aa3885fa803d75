/**
 * vitest runs the sources in Node: Dawn becomes createRuntime's GPU (as the
 * package's Node entry, src/node.ts, does), and wgsl_reflect is loaded so that
 * a shader edited since src/shaders.reflect.json was written is parsed live.
 */
import { loadReflector } from '../src/reflect-live.js';
import '../src/node.js';

await loadReflector();
