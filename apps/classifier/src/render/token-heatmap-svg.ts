/**
 * The attention picture for text: a token × token matrix (rows = queries, columns = keys), one cell per
 * weight, labelled with the tokens, drawn as SVG: pure, so the web page draws the same picture
 * in the browser; token-heatmap.ts rasterises it to PNG with sharp (librsvg).
 */
import { viridis } from './colormap.js';
import { colourBarLayout, colourBarSvg } from './colour-bar-svg.js';

export interface TokenHeatmapOptions {
  /** Pixels per cell. */
  cell?: number;
  title?: string;
  /** Lines under the colour bar; default: what rows, columns and colours mean. */
  caption?: string[];
}

const DEFAULT_CAPTION = [
  'rows: queries (the token attending), columns: keys (the token attended to)',
  'colour: attention weight, from 0 to the largest weight shown',
];

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `weights` is [tokens, tokens], each row a probability distribution; colours are scaled to the largest weight. */
export function tokenHeatmapSvg(
  tokens: string[],
  weights: number[][],
  options: TokenHeatmapOptions = {},
): string {
  const n = tokens.length;
  if (weights.length !== n || weights.some((row) => row.length !== n)) {
    throw new RangeError(`attention weights must be [${n}, ${n}] for ${n} tokens`);
  }
  const cell = options.cell ?? 22;
  const fontSize = Math.max(8, Math.round(cell * 0.55));
  const label = Math.max(...tokens.map((t) => t.length), 4) * fontSize * 0.62 + 8; // room for the longest token
  const top = options.title ? label + fontSize * 2 : label;
  const titleWidth = options.title ? options.title.length * fontSize * 0.62 + 8 : 0;
  const caption = options.caption ?? DEFAULT_CAPTION;
  const captionWidth = Math.max(...caption.map((l) => l.length)) * 12 * 0.62 + 16;
  const width = Math.ceil(Math.max(label + n * cell + 4, titleWidth, captionWidth));
  const matrixHeight = Math.ceil(top + n * cell + 4);
  const height = matrixHeight + colourBarLayout({ width, caption }).total;
  const max = Math.max(1e-12, ...weights.flat());
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif" font-size="${fontSize}">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  ];
  if (options.title)
    parts.push(`<text x="4" y="${fontSize * 1.4}" font-weight="bold">${escapeXml(options.title)}</text>`);
  for (let i = 0; i < n; i++) {
    const tok = escapeXml(tokens[i]);
    const y = top + i * cell;
    const x = label + i * cell;
    parts.push(`<text x="${label - 4}" y="${y + cell * 0.7}" text-anchor="end">${tok}</text>`);
    parts.push(`<text transform="translate(${x + cell * 0.7},${top - 4}) rotate(-90)">${tok}</text>`);
    for (let j = 0; j < n; j++) {
      const [r, g, b] = viridis(weights[i][j] / max);
      parts.push(
        `<rect x="${label + j * cell}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${r},${g},${b})"/>`,
      );
    }
  }
  parts.push(
    `<g font-size="12">${colourBarSvg({ width, colormap: viridis, min: 0, max, caption }, matrixHeight)}</g>`,
  );
  parts.push('</svg>');
  return parts.join('');
}
