import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { viridis } from '../src/render/colormap.js';
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
