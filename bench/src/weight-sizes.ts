/**
 * `pnpm --filter @attn/bench sizes`: the bytes of the weights file each dtype writes (`save(dir, { dtype })`:
 * model.safetensors, model.fp16.safetensors, model.q8.safetensors) for the bench's model shapes, computed from
 * the state dict with the writer's own accounting (storedBytes, and the header encodeSafetensors writes) — no
 * timing, no file written. Prints a markdown table for bench/README.md.
 */
import { BertModel, bertConfig } from '@attn/bert';
import {
  encodeSafetensors,
  initBackend,
  storedBytes,
  type tf,
  type WriteSafetensorsOptions,
} from '@attn/core-tensor';
import { ViTConfig, ViTForImageClassification } from '@attn/vit';
import { MODELS } from './specs.js';

const DTYPES: [string, WriteSafetensorsOptions][] = [
  ['fp32', {}],
  ['fp16', { floatDtype: 'F16' }],
  ['q8', { q8: true }],
];

/** Header bytes (length prefix + JSON) of the file: the generator yields them before reading any tensor. */
async function headerBytes(state: Map<string, tf.Tensor>, dtype: string, opts: WriteSafetensorsOptions) {
  const meta = { format: 'pt', ...(dtype !== 'fp32' && { dtype }) };
  let n = 0;
  let parts = 0;
  for await (const chunk of encodeSafetensors(state, meta, opts)) {
    n += chunk.byteLength;
    if (++parts === 2) break;
  }
  return n;
}

await initBackend('cpu');
const mb = (b: number) => (b / 1e6).toFixed(1);
console.log('| model | parameters | fp32 bytes | fp16 bytes | q8 bytes | fp16 / fp32 | q8 / fp32 |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const spec of MODELS) {
  const model =
    spec.kind === 'bert'
      ? new BertModel(bertConfig(spec.config as Parameters<typeof bertConfig>[0]))
      : new ViTForImageClassification(ViTConfig.from(spec.config as Parameters<typeof ViTConfig.from>[0]));
  const state = model.stateDict();
  const params = [...state.values()].reduce((a, t) => a + t.size, 0);
  const bytes: number[] = [];
  for (const [dtype, opts] of DTYPES) {
    let data = 0;
    for (const [name, t] of state) data += storedBytes(name, t, opts);
    bytes.push(data + (await headerBytes(state, dtype, opts)));
  }
  for (const t of state.values()) t.dispose();
  model.dispose();
  const [fp32, fp16, q8] = bytes as [number, number, number];
  console.log(
    `| ${spec.label} | ${(params / 1e6).toFixed(1)} M | ${fp32} (${mb(fp32)} MB) | ${fp16} (${mb(fp16)} MB) | ` +
      `${q8} (${mb(q8)} MB) | ${(fp16 / fp32).toFixed(3)}× | ${(q8 / fp32).toFixed(3)}× |`,
  );
}
