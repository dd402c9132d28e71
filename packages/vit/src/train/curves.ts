import { importSharp } from '../platform/sharp.js';
import type { EpochStats } from './train.js';

/** An SVG line chart of the loss and accuracy curves, one panel each (rendered to PNG by `writeTrainingCurves`). */
export function trainingCurvesSvg(history: EpochStats[], title = 'training'): string {
  const W = 720;
  const H = 320;
  const pad = { l: 56, r: 16, t: 52, b: 40 };
  const panelW = (W - 2 * pad.l - 2 * pad.r) / 2;
  const ph = H - pad.t - pad.b;
  const epochs = history.map((h) => h.epoch);
  const maxEpoch = Math.max(1, ...epochs);
  const panel = (
    x0: number,
    name: string,
    series: { label: string; color: string; values: (number | undefined)[] }[],
    lo: number,
    hi: number,
  ) => {
    const sx = (e: number) => x0 + (e / maxEpoch) * panelW;
    const sy = (v: number) => pad.t + ph - ((v - lo) / (hi - lo || 1)) * ph;
    const ticks = [lo, (lo + hi) / 2, hi]
      .map(
        (v) =>
          `<text x="${x0 - 6}" y="${sy(v) + 4}" text-anchor="end" font-size="11">${v.toFixed(hi <= 1 ? 3 : 2)}</text>`,
      )
      .join('');
    const lines = series
      .map((s, k) => {
        const pts = s.values
          .map((v, i) => (v === undefined ? '' : `${sx(epochs[i])},${sy(v)}`))
          .filter(Boolean);
        return (
          `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.join(' ')}"/>` +
          `<text x="${x0 + panelW - 4}" y="${pad.t + 16 + 14 * k}" text-anchor="end" font-size="12" fill="${s.color}">${s.label}</text>`
        );
      })
      .join('');
    return (
      `<rect x="${x0}" y="${pad.t}" width="${panelW}" height="${ph}" fill="none" stroke="#999"/>` +
      `<text x="${x0 + panelW / 2}" y="${pad.t - 10}" text-anchor="middle" font-size="13">${name}</text>` +
      `<text x="${x0 + panelW / 2}" y="${H - 10}" text-anchor="middle" font-size="11">epoch (1–${maxEpoch})</text>` +
      ticks +
      lines
    );
  };
  const losses = history.map((h) => h.trainLoss);
  const accs = history.flatMap((h) => [h.trainAccuracy, h.testAccuracy ?? h.trainAccuracy]);
  const accLo = Math.floor(Math.min(...accs) * 20) / 20;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="${W / 2}" y="16" text-anchor="middle" font-size="14" font-weight="bold">${title}</text>` +
    panel(
      pad.l,
      'train loss',
      [{ label: 'train loss', color: '#d62728', values: losses }],
      0,
      Math.max(...losses),
    ) +
    panel(
      pad.l * 2 + pad.r + panelW,
      'accuracy',
      [
        { label: 'train', color: '#1f77b4', values: history.map((h) => h.trainAccuracy) },
        { label: 'test', color: '#2ca02c', values: history.map((h) => h.testAccuracy) },
      ],
      accLo,
      1,
    ) +
    `</svg>`
  );
}

/** Writes the curves as a PNG (atomically). */
export async function writeTrainingCurves(
  history: EpochStats[],
  outPath: string,
  title?: string,
): Promise<void> {
  const sharp = await importSharp();
  const { atomicWriteFile } = await import('@attn/core-tensor');
  const png = await sharp(Buffer.from(trainingCurvesSvg(history, title)))
    .png()
    .toBuffer();
  await atomicWriteFile(outPath, png);
}
