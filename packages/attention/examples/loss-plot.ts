/**
 * A dependency-free SVG line chart: training loss (log scale, left axis) and validation exact-match
 * accuracy (right axis) against the step. Small enough to read, and it renders on GitHub.
 */
export function lossPlotSvg(
  loss: { step: number; loss: number }[],
  accuracy: { step: number; accuracy: number }[],
  title: string,
): string {
  const [W, H, left, right, top, bottom] = [640, 360, 60, 60, 40, 45];
  const maxStep = Math.max(...loss.map((p) => p.step), ...accuracy.map((p) => p.step));
  const logs = loss.map((p) => Math.log10(p.loss));
  const [lo, hi] = [Math.floor(Math.min(...logs)), Math.ceil(Math.max(...logs))];
  const x = (step: number) => left + (step / maxStep) * (W - left - right);
  const yLoss = (l: number) => top + ((hi - Math.log10(l)) / (hi - lo)) * (H - top - bottom);
  const yAcc = (a: number) => top + (1 - a) * (H - top - bottom);
  const path = (pts: [number, number][]) =>
    pts.map(([px, py], i) => `${i ? 'L' : 'M'}${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${title}</text>`,
  ];
  for (let e = lo; e <= hi; e++)
    parts.push(
      `<line x1="${left}" x2="${W - right}" y1="${yLoss(10 ** e)}" y2="${yLoss(10 ** e)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${yLoss(10 ** e) + 4}" text-anchor="end" fill="#1f77b4">1e${e}</text>`,
    );
  for (const a of [0, 0.5, 1])
    parts.push(`<text x="${W - right + 6}" y="${yAcc(a) + 4}" fill="#d62728">${a * 100}%</text>`);
  for (let i = 0; i <= 4; i++) {
    const step = Math.round((maxStep * i) / 4);
    parts.push(`<text x="${x(step)}" y="${H - bottom + 18}" text-anchor="middle">${step}</text>`);
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#999"/>`,
    `<path d="${path(loss.map((p) => [x(p.step), yLoss(p.loss)]))}" fill="none" stroke="#1f77b4" stroke-width="2"/>`,
    `<path d="${path(accuracy.map((p) => [x(p.step), yAcc(p.accuracy)]))}" fill="none" stroke="#d62728" stroke-width="2" stroke-dasharray="5,3"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">step</text>`,
    `<text x="${left + 8}" y="${top + 16}" fill="#1f77b4">training loss (log)</text>`,
    `<text x="${W - right - 8}" y="${top + 16}" text-anchor="end" fill="#d62728">validation exact match</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
