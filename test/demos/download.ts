/** Clicks a demo page's "Download checkpoint" and decodes the file it made (the bytes, from the page). */
import type { Page } from 'puppeteer-core';
import { decodeSafetensors, type SafeTensor } from '../../src/io/safetensors.js';

export async function downloadFromPage(page: Page): Promise<{ tensors: Record<string, SafeTensor>; metadata: Record<string, string> }> {
  await page.click('#download');
  await page.waitForFunction('window.__demo.output.download !== undefined', { timeout: 30_000, polling: 100 });
  const b64 = (await page.evaluate(`(() => {
    const b = window.__demoPage.lastCheckpoint;
    let s = '';
    for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
    return btoa(s);
  })()`)) as string;
  return decodeSafetensors(new Uint8Array(Buffer.from(b64, 'base64')));
}
