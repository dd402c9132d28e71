/**
 * Pictures of a Word2Vec run: the loss curve, and the most frequent words placed by their first two
 * principal components. Drawn as SVG and rasterised to PNG by sharp (librsvg), as the attention pictures.
 */
import { atomicWriteFile, tf } from '@attn/core-tensor';
import sharp from 'sharp';

function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Loss against corpus words processed (one point per progress report). */
export function lossCurveSvg(points: { words: number; loss: number }[], title: string): string {
  const [W, H, left, right, top, bottom] = [560, 320, 56, 36, 36, 44];
  const finite = points.filter((p) => Number.isFinite(p.loss));
  if (finite.length === 0) throw new RangeError('lossCurveSvg: no finite loss values to draw');
  const maxX = Math.max(...finite.map((p) => p.words));
  const lo = Math.min(...finite.map((p) => p.loss));
  const hi = Math.max(...finite.map((p) => p.loss));
  const span = hi - lo || 1;
  const x = (w: number) => left + (w / maxX) * (W - left - right);
  const y = (l: number) => top + ((hi - l) / span) * (H - top - bottom);
  const path = finite
    .map((p, i) => `${i ? 'L' : 'M'}${x(p.words).toFixed(1)},${y(p.loss).toFixed(1)}`)
    .join(' ');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    `<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#999"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const l = lo + (span * i) / 4;
    parts.push(`<text x="${left - 6}" y="${y(l) + 4}" text-anchor="end">${l.toFixed(2)}</text>`);
    const w = (maxX * i) / 4;
    parts.push(
      `<text x="${x(w)}" y="${H - bottom + 16}" text-anchor="middle">${Math.round(w).toLocaleString('en')}</text>`,
    );
  }
  parts.push(
    `<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="2"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">corpus words processed (all epochs)</text>`,
    `<text x="${left + 8}" y="${top + 16}" fill="#1f77b4">mean loss per prediction</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

/**
 * The rows of `vectors` [n, dim] projected on their first two principal components (centred, then the top
 * two eigenvectors of the covariance by power iteration with deflation; deterministic start).
 */
export function pca2(vectors: tf.Tensor2D): [number, number][] {
  const [n, dim] = vectors.shape;
  const xy = tf.tidy(() => {
    const centred = tf.sub(vectors, tf.mean(vectors, 0, true));
    let cov = tf.div(tf.matMul(centred, centred, true, false), Math.max(1, n - 1)) as tf.Tensor2D;
    const axes: tf.Tensor2D[] = [];
    for (let c = 0; c < 2; c++) {
      let v = tf.div(tf.reshape(tf.range(1, dim + 1), [dim, 1]), Math.sqrt(dim)) as tf.Tensor2D;
      for (let it = 0; it < 200; it++) {
        const w = tf.matMul(cov, v);
        v = tf.div(w, tf.maximum(tf.norm(w), 1e-12)) as tf.Tensor2D;
      }
      axes.push(v);
      const lambda = tf.sum(tf.mul(v, tf.matMul(cov, v)));
      cov = tf.sub(cov, tf.mul(lambda, tf.matMul(v, v, false, true))) as tf.Tensor2D;
    }
    return tf.matMul(centred, tf.concat(axes, 1));
  });
  const data = xy.dataSync();
  xy.dispose();
  return Array.from({ length: n }, (_, i) => [data[2 * i]!, data[2 * i + 1]!]);
}

export function pcaScatterSvg(words: string[], xy: [number, number][], title: string): string {
  const [W, H, pad] = [640, 520, 36];
  const xs = xy.map((p) => p[0]);
  const ys = xy.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (v: number) => pad + ((v - x0) / (x1 - x0 || 1)) * (W - 2 * pad - 40);
  const sy = (v: number) => pad + 10 + ((y1 - v) / (y1 - y0 || 1)) * (H - 2 * pad - 20);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="WenQuanYi Micro Hei, Noto Sans CJK SC, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  words.forEach((w, i) => {
    const [px, py] = [sx(xy[i]![0]), sy(xy[i]![1])];
    parts.push(
      `<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="2.5" fill="#1f77b4"/>`,
      `<text x="${(px + 4).toFixed(1)}" y="${(py + 4).toFixed(1)}">${escapeXml(w)}</text>`,
    );
  });
  parts.push(
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle" fill="#666">first principal component →</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}

export async function writeSvgAsPng(svg: string, file: string): Promise<void> {
  await atomicWriteFile(file, await sharp(Buffer.from(svg)).png().toBuffer());
}
