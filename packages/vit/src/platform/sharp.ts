/**
 * sharp (libvips) decodes and encodes image files in Node. package.json's `browser` map swaps this file for
 * sharp.browser.ts, so a page bundle never pulls the native module in; the page decodes with the browser.
 */
export const importSharp = (): Promise<typeof import('sharp').default> =>
  import('sharp').then((m) => m.default);
