// Everything runs in the page: tokenizer and weights are fetched once (then kept in the Cache API), the device
// is WebGPU where an adapter exists, else WASM. ?model= takes any HF BERT folder URL or hub id, e.g. a
// sentence-transformers folder (its modules.json pooling and normalisation are followed).
import { pipeline } from '@attn/bert';

const $ = (id: string) => document.getElementById(id) as HTMLInputElement;
const model = new URLSearchParams(location.search).get('model') ?? './model/';

const embed = await pipeline('feature-extraction', model, {
  progress_callback: (e) => {
    if (e.status === 'progress') $('status').textContent = `loading ${e.file}: ${e.progress.toFixed(0)}%`;
  },
});
$('status').textContent = `ready: ${embed.device.description}`;
$('go').disabled = false;

$('go').addEventListener('click', async () => {
  const t0 = performance.now();
  const out = await embed([$('a').value, $('b').value], { pooling: 'mean', normalize: true });
  const [u, v] = out.tolist() as number[][];
  const cosine = u!.reduce((s, x, i) => s + x * v![i]!, 0);
  $('out').textContent =
    `cosine ${cosine.toFixed(4)} (${u!.length} dimensions, ${(performance.now() - t0).toFixed(0)} ms)`;
});
