/**
 * What a demo page's test says about it (one file per page in test/demos/,
 * picked up by test/demos.test.ts): how to open it in test mode, and what
 * must be true after it trained.
 */
import type { Page } from 'puppeteer-core';
import type { DemoState } from '../../demos/common/shell.js';

export interface DemoCheck {
  /** The page's folder under demos/ (and its `DemoSpec.id`). */
  id: string;
  /** Steps to train (`?test=N`). */
  steps: number;
  /** Extra query string: smaller sizes for SwiftShader (`hidden=32&seqLen=32`). */
  query?: string;
  /** The loss must fall: mean of the last fifth of the losses read <= this fraction of the first fifth's. */
  lossRatio: number;
  /** Page run limit (default 240 s). */
  timeoutMs?: number;
  /** The page's own outputs (generated text, forecast...): throw (vitest `expect`) when wrong. */
  check(state: DemoState): void;
  /** After training: drive the page as a user would (type, click) and check what appears. */
  interact?(page: Page, state: DemoState): Promise<void>;
}
