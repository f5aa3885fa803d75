import type { DemoCheck } from './types.js';

export default {
  id: 'lstm',
  steps: 20,
  query: 'hidden=64',
  lossRatio: 0.9,
  check() {},
} satisfies DemoCheck;
