/**
 * Debian's Chromium driven by playwright-core (no browser download), for the tests of the web page: the
 * launch flags and the drag-and-drop of a file onto the page.
 */
import { existsSync } from 'node:fs';
import { CHROMIUM, chromiumArgs } from '@attn/core-tensor/testing';
import { type Browser, chromium, type Page } from 'playwright-core';

export { CHROMIUM };
export const haveChromium = existsSync(CHROMIUM);

/** Headless, no GPU (so 'auto' in the page is WASM, as on a machine without one), no background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: chromiumArgs({ webgpu: false }) });
}

/** Drops `bytes` as a file named `name` on `selector`, as a user dragging it from the desktop would. */
export async function dropFile(
  page: Page,
  selector: string,
  bytes: Buffer,
  name: string,
  type: string,
): Promise<void> {
  const dataTransfer = await page.evaluateHandle(
    ({ b64, name, type }) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bin], name, { type }));
      return dt;
    },
    { b64: bytes.toString('base64'), name, type },
  );
  await page.dispatchEvent(selector, 'dragover', { dataTransfer });
  await page.dispatchEvent(selector, 'drop', { dataTransfer });
}
