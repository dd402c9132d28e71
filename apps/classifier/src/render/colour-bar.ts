/**
 * The key under an attention picture: a horizontal colour bar from the map's low end to its high end, the
 * values at both ends, and a caption saying what was drawn. Without it a picture shows only relative heat.
 */
import sharp from 'sharp';
import { type ColourBarOptions, colourBarFooterSvg, colourBarLayout } from './colour-bar-svg.js';

export type { Colormap, ColourBarLayout, ColourBarOptions } from './colour-bar-svg.js';
export {
  BAR_MARGIN,
  colourBarFooterSvg,
  colourBarLayout,
  colourBarSvg,
  formatValue,
} from './colour-bar-svg.js';

/** A picture (RGB bytes) with the colour bar and caption added below it, as PNG bytes. */
export async function withColourBar(
  image: { data: Uint8Array; width: number; height: number },
  opts: Omit<ColourBarOptions, 'width'>,
): Promise<Buffer> {
  const { width, height } = image;
  const full = { ...opts, width };
  const footer = colourBarLayout(full);
  const svg = colourBarFooterSvg(full);
  const picture = await sharp(image.data, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
  return sharp({ create: { width, height: height + footer.total, channels: 3, background: '#fff' } })
    .composite([
      { input: picture, top: 0, left: 0 },
      { input: Buffer.from(svg), top: height, left: 0 },
    ])
    .png()
    .toBuffer();
}
