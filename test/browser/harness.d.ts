/** Types for harness.js (plain JS so that bench/run.js can import it without a TS loader). */
import type { Browser } from 'puppeteer-core';

export declare const ROOT: string;
export declare const CHROME_FLAGS: string[];

export declare function startServer(opts?: { entries?: string[]; headers?: Record<string, string> }): Promise<{ url: string; close: () => Promise<void> }>;

export declare function launchBrowser(extraArgs?: string[], baseFlags?: string[]): Promise<{ browser: Browser; close: () => Promise<void> }>;

export interface PageRun {
  /** What `window.__results` held when `window.__done` became true (whatever it held, on failure). */
  value: unknown;
  /** `window.__adapter`. */
  adapter: unknown;
  /** Console 'error' messages, page errors, crashes, failed requests and a timeout, in order. */
  errors: string[];
  /** Every console message, as `type: text`. */
  log: string[];
  /** Why the page did not finish; null when it did. */
  failure: string | null;
}

export declare function runPage(browser: Browser, url: string, opts?: { timeoutMs?: number; echo?: boolean; expose?: Record<string, (...args: any[]) => unknown> }): Promise<PageRun>;
