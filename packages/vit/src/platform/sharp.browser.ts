import { NodeOnlyError } from '@attn/core-tensor/platform';

/** The browser build's sharp.ts: encoding image files (PNG heatmaps, curve plots) is Node-only. */
export const importSharp = (): Promise<typeof import('sharp').default> =>
  Promise.reject(new NodeOnlyError('sharp'));
