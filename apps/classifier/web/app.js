// The page asks the attn server (same origin) to run the models, and says which engine ran them.
const $ = (id) => document.getElementById(id);

function showPredictions(list, predictions) {
  list.replaceChildren(
    ...predictions.map((p) => {
      const li = document.createElement('li');
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

function engineText(engine) {
  return `ran on the server (asked over HTTP): model ${engine.model}, backend ${engine.backend}`;
}

async function post(path, body, headers) {
  const res = await fetch(path, { method: 'POST', body, headers });
  const json = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json;
}

async function classifyImage(file) {
  $('image-error').textContent = '';
  $('preview').src = URL.createObjectURL(file);
  $('image-figures').hidden = false;
  $('image-heatmap').hidden = true;
  $('image-predictions').replaceChildren();
  try {
    const out = await post('/v1/classify-image?top=5&attention=1', file, {
      'content-type': 'application/octet-stream',
    });
    showPredictions($('image-predictions'), out.predictions);
    $('image-heatmap').src = out.attention;
    $('image-heatmap').hidden = false;
    $('image-engine').textContent = engineText(out.engine);
  } catch (e) {
    $('image-error').textContent = e.message;
  }
}

async function classifyText(text) {
  $('text-error').textContent = '';
  $('text-heatmap').hidden = true;
  $('text-predictions').replaceChildren();
  try {
    const out = await post('/v1/classify-text?top=5&attention=1', JSON.stringify({ text }), {
      'content-type': 'application/json',
    });
    showPredictions($('text-predictions'), out.predictions);
    $('text-heatmap').src = out.attention;
    $('text-heatmap').hidden = false;
    $('text-engine').textContent = engineText(out.engine);
  } catch (e) {
    $('text-error').textContent = e.message;
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
  // The server refuses a blank text (400); say so here rather than send it, or do nothing.
  if (text.trim()) classifyText(text);
  else {
    $('text-predictions').replaceChildren();
    $('text-heatmap').hidden = true;
    $('text-error').textContent =
      'Type a text first: an empty or whitespace-only text has nothing to classify.';
  }
});

fetch('/healthz')
  .then((r) => r.json())
  .then((h) => {
    $('engine').textContent =
      `Models run on the attn server (backend ${h.backend}; image model ${h.models.image}, text model ${h.models.text}). ` +
      'This page does not run them in the browser.';
  })
  .catch(() => {
    $('engine').textContent = 'the attn server is not reachable';
  });
