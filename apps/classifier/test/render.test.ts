import { heatmapColour } from '@attn/vit';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { viridis } from '../src/render/colormap.js';
import { colourBarLayout, formatValue, withColourBar } from '../src/render/colour-bar.js';
import { renderTokenHeatmap, tokenHeatmapSvg } from '../src/render/token-heatmap.js';

describe('viridis', () => {
  it('hits its anchors and interpolates linearly between them', () => {
    expect(viridis(0)).toEqual([68, 1, 84]);
    expect(viridis(0.5)).toEqual([33, 145, 140]);
    expect(viridis(1)).toEqual([253, 231, 37]);
    // halfway between anchor 0 (68,1,84) and anchor 1 (59,82,139)
    expect(viridis(0.125)).toEqual([64, 42, 112]);
    expect(viridis(-3)).toEqual(viridis(0));
    expect(viridis(Number.NaN)).toEqual(viridis(0));
  });
});

describe('token heatmap', () => {
  const tokens = ['[CLS]', 'hi', '[SEP]'];
  const weights = [
    [0.5, 0.25, 0.25],
    [0, 1, 0],
    [0.2, 0.3, 0.5],
  ];

  it('draws one rect per weight, coloured relative to the largest weight', () => {
    const svg = tokenHeatmapSvg(tokens, weights, { cell: 10 });
    const fills = [
      ...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="10" height="10" fill="rgb\((\d+),(\d+),(\d+)\)"/g),
    ];
    expect(fills).toHaveLength(9);
    expect(fills[4].slice(1).map(Number)).toEqual(viridis(1)); // weights[1][1] is the max
    expect(fills[3].slice(1).map(Number)).toEqual(viridis(0));
    expect(fills[0].slice(1).map(Number)).toEqual(viridis(0.5));
    expect(svg).toContain('>[CLS]</text>');
  });

  it('rasterises to a PNG whose cells have the map colours', async () => {
    const svg = tokenHeatmapSvg(tokens, weights, { cell: 10 });
    const [, x, y] = /<rect x="([\d.]+)" y="([\d.]+)" width="10" height="10" fill="rgb\(253,231,37\)"/
      .exec(svg)!
      .map(Number);
    const png = await renderTokenHeatmap(tokens, weights, { cell: 10 });
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const at = (Math.floor(y + 5) * info.width + Math.floor(x + 5)) * 3;
    expect([data[at], data[at + 1], data[at + 2]]).toEqual([253, 231, 37]);
  });

  it('refuses weights whose shape does not match the tokens', () => {
    expect(() => tokenHeatmapSvg(tokens, [[1]])).toThrow(/must be \[3, 3\]/);
  });
});

describe('colour bar and caption', () => {
  const pixel = (data: Buffer, width: number, x: number, y: number) => {
    const at = (y * width + x) * 3;
    return [data[at], data[at + 1], data[at + 2]];
  };

  it('the token heatmap PNG has a viridis bar from 0 to the largest weight, and a caption', async () => {
    const tokens = ['[CLS]', 'hi', '[SEP]'];
    const weights = [
      [0.5, 0.25, 0.25],
      [0, 0.8, 0.2],
      [0.2, 0.3, 0.5],
    ];
    const svg = tokenHeatmapSvg(tokens, weights, { cell: 10, title: 'layer 1, mean over heads' });
    const bar = [...svg.matchAll(/<rect x="(\d+)" y="([\d.]+)" width="1" height="12"/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(bar.length).toBeGreaterThan(100);
    expect(svg).toContain('>0</text>');
    expect(svg).toContain('>0.8</text>'); // the largest weight, the colour of the bar's right end
    expect(svg).toContain('colour: attention weight, from 0 to the largest weight shown');
    const png = await renderTokenHeatmap(tokens, weights, { cell: 10, title: 'layer 1, mean over heads' });
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const [x0, y] = bar[0];
    const [x1] = bar.at(-1)!;
    expect(pixel(data, info.width, x0, y + 6)).toEqual(viridis(0));
    expect(pixel(data, info.width, x1, y + 6)).toEqual(viridis(1));
    expect(pixel(data, info.width, Math.round((x0 + x1) / 2), y + 6)).toEqual(viridis(0.5));
    expect(info.height).toBeGreaterThanOrEqual(y + 12 + 3 * 12); // labels and two caption lines below the bar
  });

  it('withColourBar keeps the picture and adds the bar of its colormap, ends at min and max', async () => {
    const width = 240;
    const height = 20;
    const image = { data: new Uint8Array(width * height * 3).fill(77), width, height };
    const caption = ['attention rollout over all 2 layers, heads averaged'];
    const png = await withColourBar(image, { colormap: heatmapColour, min: 0, max: 0.042, caption });
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const bar = colourBarLayout({ width, caption });
    expect(info.width).toBe(width);
    expect(info.height).toBe(height + bar.total);
    expect(pixel(data, width, 5, 5)).toEqual([77, 77, 77]);
    const row = height + bar.y + 6;
    expect(pixel(data, width, bar.x, row)).toEqual(heatmapColour(0).map(Math.round));
    expect(pixel(data, width, bar.x + bar.width - 1, row)).toEqual(heatmapColour(1).map(Math.round));
    expect(pixel(data, width, bar.x - 2, row)).toEqual([255, 255, 255]); // margin, outside the bar
  });

  it('formats the end values with three significant digits', () => {
    expect([0, 0.8, 0.123456, 1234.5, 1.5e-6].map(formatValue)).toEqual([
      '0',
      '0.8',
      '0.123',
      '1230',
      '1.50e-6',
    ]);
  });
});
