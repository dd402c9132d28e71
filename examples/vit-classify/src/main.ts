// Everything runs in the page: the model folder is fetched once (then kept in the Cache API), the device is
// WebGPU where an adapter exists, else WASM. ?model= takes any HF ViT folder URL or hub id.
import { pipeline } from '@attn/vit';

const $ = (id: string) => document.getElementById(id) as HTMLElement;
const model = new URLSearchParams(location.search).get('model') ?? './model/';

const classify = await pipeline('image-classification', model, {
  progress_callback: (e) => {
    if (e.status === 'progress') $('status').textContent = `loading ${e.file}: ${e.progress.toFixed(0)}%`;
  },
});
$('status').textContent = `ready: ${classify.device.description}`;

const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', async (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files[0];
  if (!file) return;
  const t0 = performance.now();
  try {
    const results = (await classify(file, { top_k: 5 })) as { label: string; score: number }[];
    $('results').replaceChildren(
      ...results.map((r) =>
        Object.assign(document.createElement('li'), { textContent: `${r.label} ${r.score.toFixed(3)}` }),
      ),
    );
    $('status').textContent =
      `${file.name}: ${(performance.now() - t0).toFixed(0)} ms on ${classify.device.description}`;
  } catch (err) {
    // A file that is not an image is an ImageInputError naming it.
    $('status').textContent = String(err);
  }
});
