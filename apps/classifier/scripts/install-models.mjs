// Copies the models trained by the packages' examples into the app's built-in model folders, keeping only
// what inference needs. Run after training:
//   pnpm --filter @attn/vit mnist            → packages/vit/examples/out/mnist-vit
//   pnpm --filter @attn/bert example:spam    → packages/bert/examples/out/spam-classifier and …/pretrained
//   node apps/classifier/scripts/install-models.mjs
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const repo = new URL('../../..', import.meta.url).pathname;
const app = new URL('..', import.meta.url).pathname;
const tokenizerFiles = ['vocab.txt', 'tokenizer_config.json', 'tokenizer.json', 'special_tokens_map.json'];
const models = [
  {
    name: 'mnist-vit',
    from: join(repo, 'packages/vit/examples/out/mnist-vit'),
    files: [
      'config.json',
      'model.safetensors',
      'preprocessor_config.json',
      'training_history.json',
      'training_curves.png',
    ],
  },
  {
    name: 'spam-bert',
    from: join(repo, 'packages/bert/examples/out/spam-classifier'),
    files: ['config.json', 'model.safetensors', ...tokenizerFiles],
  },
  {
    name: 'spam-bert-mlm',
    from: join(repo, 'packages/bert/examples/out/pretrained'),
    files: ['config.json', 'model.safetensors', ...tokenizerFiles],
  },
];
let failed = false;
for (const m of models) {
  if (!existsSync(join(m.from, 'model.safetensors'))) {
    console.error(`${m.name}: ${m.from} has no model.safetensors yet (train it first)`);
    failed = true;
    continue;
  }
  const to = join(app, 'models', m.name);
  mkdirSync(to, { recursive: true });
  for (const f of m.files) {
    if (!existsSync(join(m.from, f))) continue;
    copyFileSync(join(m.from, f), join(to, f));
    console.log(`${m.name}/${f}  ${(statSync(join(to, f)).size / 1024).toFixed(0)} KiB`);
  }
}
process.exitCode = failed ? 1 : 0;
