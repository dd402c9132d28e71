/**
 * `attn demo`: the first thing to run. Classifies the bundled sample images with the built-in image model and
 * the bundled sample texts with the built-in text model, offline, and prints the results.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { loadImageClassifier, loadTextClassifier } from '../engines.js';
import { type Context, ellipsize, writeLine, writePredictions } from '../io.js';
import { appRoot, resolveModel } from '../models.js';

export interface DemoOptions {
  top: number;
}

export const samplesDir = resolve(appRoot, 'samples');

function samples(ext: string): string[] {
  return readdirSync(samplesDir)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => resolve(samplesDir, f));
}

export async function demoCommand(opts: DemoOptions, ctx: Context): Promise<number> {
  const say = (line: string) => (ctx.json ? Promise.resolve() : writeLine(ctx.io.stdout, line));
  const show = (p: { label: string; score: number }) => `${p.label} (${(p.score * 100).toFixed(1)}%)`;

  const images = samples('.png');
  const files = samples('.txt');
  const width = Math.max(...[...images, ...files].map((f) => relative(process.cwd(), f).length));
  const vit = await loadImageClassifier(
    resolveModel('mnist-vit', 'image-classification'),
    ctx.device,
    ctx.dtype,
  );
  // The engine the pipeline chose (with --device auto: the fastest here), as the pipeline reports it.
  await say(`attn demo: built-in models, device ${vit.device}`);
  try {
    await say('\nimages → mnist-vit (a ViT trained on MNIST digits)');
    const results = await vit.classify(images, opts.top);
    for (const [i, file] of images.entries()) {
      const name = relative(process.cwd(), file);
      if (ctx.json) await writePredictions(ctx, name, results[i]);
      else await say(`  ${name.padEnd(width)}  ${results[i].map(show).join('  ')}`);
    }
  } finally {
    vit.dispose();
  }

  const bert = await loadTextClassifier(
    resolveModel('spam-bert', 'text-classification'),
    ctx.device,
    ctx.dtype,
  );
  try {
    await say('\ntexts → spam-bert (a BERT pre-trained and fine-tuned on SpamAssassin mail)');
    const texts = files.map((f) => readFileSync(f, 'utf8').trim());
    const results = await bert.classify(texts, opts.top);
    for (const [i, file] of files.entries()) {
      const name = relative(process.cwd(), file);
      if (ctx.json) await writePredictions(ctx, texts[i], results[i]);
      else
        await say(
          `  ${name.padEnd(width)}  ${results[i].map(show).join('  ')}  "${ellipsize(texts[i], 40)}"`,
        );
    }
  } finally {
    bert.dispose();
  }
  return 0;
}
