/**
 * The key under an attention picture: a horizontal colour bar from the map's low end to its high end, the
 * values at both ends, and a caption saying what was drawn. Without it a picture shows only relative heat.
 * Pure SVG (no sharp), so the web page draws the same key in the browser.
 */
export type Colormap = (v: number) => [number, number, number];

export interface ColourBarOptions {
  /** Width of the whole footer in pixels; the bar spans it less the margins. */
  width: number;
  colormap: Colormap;
  /** The values drawn in the colours at v = 0 and v = 1. */
  min: number;
  max: number;
  /** Lines under the bar: which layer / head, what the colours mean. */
  caption: string[];
  fontSize?: number;
}

/** The bar's geometry, so tests (and callers stacking pictures) know where its pixels are. */
export interface ColourBarLayout {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Height of the whole footer. */
  total: number;
}

export const BAR_MARGIN = 8;

export function colourBarLayout(
  opts: Pick<ColourBarOptions, 'width' | 'caption' | 'fontSize'>,
): ColourBarLayout {
  const font = opts.fontSize ?? 12;
  const height = 12;
  const y = BAR_MARGIN;
  return {
    x: BAR_MARGIN,
    y,
    width: Math.max(1, Math.floor(opts.width - 2 * BAR_MARGIN)),
    height,
    total: Math.ceil(y + height + font * 1.4 + opts.caption.length * font * 1.3 + BAR_MARGIN),
  };
}

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Three significant digits: enough to read a probability or a rollout weight. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
}

/**
 * SVG elements (no <svg> wrapper) of the footer, placed at `top`: one 1-pixel rect per bar column, so each
 * column has exactly its colour after rasterising (a gradient would be resampled by the renderer).
 */
export function colourBarSvg(opts: ColourBarOptions, top = 0): string {
  const font = opts.fontSize ?? 12;
  const bar = colourBarLayout(opts);
  const parts: string[] = [];
  for (let i = 0; i < bar.width; i++) {
    const [r, g, b] = opts.colormap(bar.width === 1 ? 0 : i / (bar.width - 1)).map(Math.round);
    parts.push(
      `<rect x="${bar.x + i}" y="${top + bar.y}" width="1" height="${bar.height}" fill="rgb(${r},${g},${b})"/>`,
    );
  }
  const labelY = top + bar.y + bar.height + font * 1.2;
  parts.push(`<text x="${bar.x}" y="${labelY}">${escapeXml(formatValue(opts.min))}</text>`);
  parts.push(
    `<text x="${bar.x + bar.width}" y="${labelY}" text-anchor="end">${escapeXml(formatValue(opts.max))}</text>`,
  );
  opts.caption.forEach((line, k) => {
    parts.push(`<text x="${bar.x}" y="${labelY + (k + 1) * font * 1.3}">${escapeXml(line)}</text>`);
  });
  return parts.join('');
}

/** The footer as a standalone SVG document: `opts.width` wide, white, the bar and its caption. */
export function colourBarFooterSvg(opts: ColourBarOptions): string {
  const { total } = colourBarLayout(opts);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${opts.width}" height="${total}" font-family="DejaVu Sans, sans-serif" font-size="${opts.fontSize ?? 12}">` +
    `<rect width="${opts.width}" height="${total}" fill="#fff"/>${colourBarSvg(opts)}</svg>`
  );
}
