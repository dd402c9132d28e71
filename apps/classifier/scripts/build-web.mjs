#!/usr/bin/env node
/**
 * Builds the web page's in-browser engine: src/page/engine.ts bundled by esbuild (platform=browser, minified)
 * into dist/web/attn-page.js, with tfjs's .wasm files beside it (tfjs's default place to look). `attn serve`
 * serves that folder next to web/.
 *
 *   node scripts/build-web.mjs               dist/web/ (part of `pnpm build`)
 *   node scripts/build-web.mjs --site [DIR]  also DIR (default dist/site/): web/ + the engine + the built-in
 *                                            models, a folder any static file server hosts (needs tsc's dist/)
 *   --source                                 bundle the workspace packages' TypeScript sources, not dist/
 *
 * esbuild is the one tsx ships (a devDependency already), so the build adds no dependency.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');

async function loadEsbuild() {
  const tsx = createRequire(join(app, 'package.json')).resolve('tsx/package.json');
  return import(pathToFileURL(createRequire(tsx).resolve('esbuild')).href);
}

/** Writes a file through a temporary name, so a server reading it never sees half of it. */
function writeAtomic(path, bytes) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/** Bundles the engine into `out` (attn-page.js + the .wasm files); returns the bundle's size in bytes. */
export async function buildPage(out = join(app, 'dist/web'), { source = false } = {}) {
  const { build } = await loadEsbuild();
  const result = await build({
    entryPoints: [join(app, 'src/page/engine.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    write: false,
    metafile: true,
    logLevel: 'warning',
    conditions: source ? ['@attn/source'] : [],
    outfile: join(out, 'attn-page.js'),
  });
  const inputs = Object.keys(result.metafile.inputs);
  const nodeOnly = inputs.filter((p) => /^node:|\/(sharp|onnxruntime-node)\//.test(p));
  if (nodeOnly.length)
    throw new Error(`attn-page.js: Node-only modules in the bundle: ${nodeOnly.join(', ')}`);
  const wasmInput = inputs.find((p) => p.includes('/@tensorflow/tfjs-backend-wasm/'));
  if (!wasmInput) throw new Error('attn-page.js: the bundle holds no @tensorflow/tfjs-backend-wasm');
  // The metafile's paths are relative to the working directory; the binaries sit in the package's dist/.
  const wasmDir = resolve(
    wasmInput.slice(0, wasmInput.indexOf('/@tensorflow/tfjs-backend-wasm/')),
    '@tensorflow/tfjs-backend-wasm/dist',
  );
  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')))
    writeAtomic(join(out, f), readFileSync(join(wasmDir, f)));
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  writeAtomic(join(out, 'attn-page.js'), js.contents);
  return js.contents.byteLength;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const started = performance.now();
  const bytes = await buildPage(undefined, { source: args.includes('--source') });
  let site = '';
  const at = args.indexOf('--site');
  if (at >= 0) {
    // The copy is the app's own code (dist/server/static.js, built by tsc just before), shared with the server.
    const out = resolve(
      args[at + 1] && !args[at + 1].startsWith('--') ? args[at + 1] : join(app, 'dist/site'),
    );
    const { writeStaticSite } = await import(pathToFileURL(join(app, 'dist/server/static.js')).href);
    writeStaticSite(out);
    site = `, static site in ${out}`;
  }
  const s = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`attn-page.js: ${(bytes / 1024).toFixed(0)} KiB${site} (${s} s)`);
}
