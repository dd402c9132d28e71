/** The text attention picture as PNG: token-heatmap-svg.ts's SVG rasterised by sharp (librsvg). */
import sharp from 'sharp';
import { type TokenHeatmapOptions, tokenHeatmapSvg } from './token-heatmap-svg.js';

export type { TokenHeatmapOptions } from './token-heatmap-svg.js';
export { tokenHeatmapSvg } from './token-heatmap-svg.js';

export async function renderTokenHeatmap(
  tokens: string[],
  weights: number[][],
  options: TokenHeatmapOptions = {},
): Promise<Buffer> {
  return sharp(Buffer.from(tokenHeatmapSvg(tokens, weights, options)))
    .png()
    .toBuffer();
}
