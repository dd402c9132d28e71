// The page runs the models itself by default (attn-page.js: @attn/vit and @attn/bert in the browser, WebGPU
// where an adapter exists, else WASM) and draws the attention from its own attention maps. "Run on the
// server" posts the input to the attn server instead, for models the page cannot run. With no attn server
// behind it (the static site), the page runs the built-in models from ./models/.
const $ = (id) => document.getElementById(id);

/** The static site's models (writeStaticSite copies them there); behind a server, /healthz says which. */
const SITE_MODELS = { image: './models/mnist-vit/', text: './models/spam-bert/' };
const TOP_K = 5;

let server = null; // /healthz of the attn server behind the page, if any
let pageModels = { image: null, text: null }; // model folder URLs the page can run itself
const loaded = {}; // kind → Promise of the in-page model
let engine; // Promise of the attn-page.js module

function showPredictions(list, predictions) {
  list.replaceChildren(
    ...predictions.map((p) => {
      const li = document.createElement('li');
      // the unrounded score, for whoever reads the page by script (the browser tests compare it to 1e-4)
      li.dataset.score = String(p.score);
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = p.label;
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = `${Math.max(1, Math.round(p.score * 200))}px`;
      li.append(label, ` ${(p.score * 100).toFixed(1)}%`, bar);
      return li;
    }),
  );
}

const onServer = (kind) => !pageModels[kind] || $('on-server').checked;

function serverText(engine) {
  return `ran on the server (asked over HTTP): model ${engine.model}, backend ${engine.backend}`;
}

function pageText(model, ms) {
  return (
    `ran in this page on ${model.device}: ${ms.classify.toFixed(1)} ms to classify, ` +
    `${ms.attention.toFixed(1)} ms for the attention picture`
  );
}

async function post(path, body, headers) {
  const res = await fetch(path, { method: 'POST', body, headers });
  const json = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json;
}

/** Loads (once) the in-page model of `kind`, showing the download progress the pipeline reports. */
function pageModel(kind) {
  loaded[kind] ??= (async () => {
    engine ??= import('./attn-page.js');
    const { loadImageModel, loadTextModel } = await engine;
    const bar = $('load-progress');
    const progress = (e) => {
      if (e.status !== 'progress') return;
      bar.hidden = false;
      bar.value = e.progress;
      $('page-engine').textContent = `loading the ${kind} model: ${e.file} ${e.progress.toFixed(0)}%`;
    };
    const load = kind === 'image' ? loadImageModel : loadTextModel;
    // the server's --dtype: the page reads the same weights (its reduced file, where the folder has one)
    const model = await load(pageModels[kind], progress, server?.dtype);
    bar.hidden = true;
    return model;
  })();
  loaded[kind].then(showPageEngines, (e) => {
    $('page-engine').textContent = `the ${kind} model did not load in this page: ${e.message}`;
  });
  return loaded[kind];
}

/** Why 'auto' did not get WebGPU; the native engine is Node's, so its absence says nothing here. */
const why = (reason) =>
  (reason ?? '')
    .split('; ')
    .filter((r) => r && !r.startsWith('native:'))
    .join('; ');

/** Which model runs where, once the in-page models are loaded. */
async function showPageEngines() {
  const lines = [];
  for (const kind of ['image', 'text']) {
    if (!loaded[kind]) continue;
    const model = await loaded[kind].catch(() => null);
    if (model)
      lines.push(
        `${kind} model ${pageModels[kind]} runs in this page on ${model.device}` +
          (why(model.fallbackReason) ? ` (${why(model.fallbackReason)})` : ''),
      );
  }
  $('page-engine').textContent = lines.join('; ');
}

async function classifyImage(file) {
  $('image-error').textContent = '';
  $('image-engine').textContent = '';
  $('preview').src = URL.createObjectURL(file);
  $('image-figures').hidden = false;
  $('image-heatmap').hidden = true;
  $('image-predictions').replaceChildren();
  try {
    let out;
    if (onServer('image')) {
      out = await post(`/v1/classify-image?top=${TOP_K}&attention=1`, file, {
        'content-type': 'application/octet-stream',
      });
      out.where = serverText(out.engine);
    } else {
      const model = await pageModel('image');
      out = await model.classify(file, TOP_K);
      out.where = pageText(model, out.ms);
    }
    showPredictions($('image-predictions'), out.predictions);
    $('image-heatmap').src = out.attention;
    $('image-heatmap').hidden = false;
    $('image-engine').textContent = out.where;
  } catch (e) {
    $('image-error').textContent = e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message;
  }
}

async function classifyText(text) {
  $('text-error').textContent = '';
  $('text-engine').textContent = '';
  $('text-heatmap').hidden = true;
  $('text-predictions').replaceChildren();
  try {
    let out;
    if (onServer('text')) {
      out = await post(`/v1/classify-text?top=${TOP_K}&attention=1`, JSON.stringify({ text }), {
        'content-type': 'application/json',
      });
      out.where = serverText(out.engine);
    } else {
      const model = await pageModel('text');
      out = await model.classify(text, TOP_K);
      out.where = pageText(model, out.ms);
    }
    showPredictions($('text-predictions'), out.predictions);
    $('text-heatmap').src = out.attention;
    $('text-heatmap').hidden = false;
    $('text-engine').textContent = out.where;
  } catch (e) {
    $('text-error').textContent = e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message;
  }
}

const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = e.dataTransfer?.files?.[0];
  if (file) classifyImage(file);
});
$('file').addEventListener('change', (e) => {
  const file = e.target.files?.[0];
  if (file) classifyImage(file);
});
$('text-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value;
  // A blank text has nothing to classify (the server refuses it, 400): say so rather than run it.
  if (text.trim()) classifyText(text);
  else {
    $('text-predictions').replaceChildren();
    $('text-heatmap').hidden = true;
    $('text-error').textContent =
      'Type a text first: an empty or whitespace-only text has nothing to classify.';
  }
});
$('on-server').addEventListener('change', () => {
  // Switched back to the page: start loading now, so the next input does not wait for the download.
  for (const kind of ['image', 'text']) if (!onServer(kind)) pageModel(kind);
});

async function start() {
  try {
    const res = await fetch('healthz');
    // A static host answers 404, or its index page (not JSON): no attn server here.
    if (res.ok) server = await res.json();
  } catch {
    server = null;
  }
  const box = $('on-server');
  if (server) {
    pageModels = { image: server.page?.image ?? null, text: server.page?.text ?? null };
    $('engine').textContent =
      `The attn server runs backend ${server.backend} (image model ${server.models.image}, text model ${server.models.text}). ` +
      (pageModels.image || pageModels.text
        ? 'This page runs the built-in models itself unless "run on the server" is on.'
        : 'Its models are not ones this page can load, so they run on the server.');
    box.checked = !pageModels.image && !pageModels.text;
    box.disabled = box.checked;
  } else {
    pageModels = SITE_MODELS;
    $('engine').textContent = 'No attn server behind this page: the built-in models run in this page.';
    box.checked = false;
    box.disabled = true;
  }
  for (const kind of ['image', 'text']) if (!onServer(kind)) pageModel(kind);
}

start();
