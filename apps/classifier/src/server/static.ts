/**
 * The web page's static files: web/ (the page), dist/web/ (the in-browser engine scripts/build-web.mjs
 * bundles, and tfjs's .wasm files) and the built-in models the page runs, served read-only from an
 * allow-list — a request names a file, never a path: no traversal, no file outside those folders.
 * `writeStaticSite` copies the same files into one folder any static file server can host.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { appRoot, BUILTIN_MODELS } from '../models.js';

/** The built-in models the page runs in the browser (`attn serve`'s defaults), by task. */
export const PAGE_MODELS = { image: 'mnist-vit', text: 'spam-bert' } as const;

/** The files of a model folder a page fetches; the rest (READMEs, training plots, history) stays private. */
const MODEL_FILES = new Set([
  'config.json',
  'model.safetensors',
  // the reduced weights a page asking for dtype fp16 / q8 fetches instead, where the folder has them
  'model.fp16.safetensors',
  'model.q8.safetensors',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
]);

const PAGE_FILES = ['index.html', 'app.js', 'style.css'];
/** What scripts/build-web.mjs writes into dist/web/. */
const ENGINE_FILE = /^(attn-page\.js|tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm)$/;

const MIME: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  wasm: 'application/wasm',
  json: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  safetensors: 'application/octet-stream',
};

export const engineDir = resolve(appRoot, 'dist/web');

export interface StaticFile {
  path: string;
  type: string;
}

const typeOf = (name: string) => MIME[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';

/** The model folder URL (relative to the page) of a built-in the page can run, for a model folder path. */
export function pageModelUrl(dir: string): string | undefined {
  const name = Object.values(PAGE_MODELS).find((n) => BUILTIN_MODELS.find((m) => m.name === n)?.dir === dir);
  return name ? `./models/${name}/` : undefined;
}

/**
 * The file a GET of `pathname` serves, or undefined. Only exact allow-listed names match: `/models/<built-in
 * the page runs>/<model file>`, the engine's files and the page's, so `..`, `%2e%2e`, encoded slashes and
 * dotfiles never reach the file system.
 */
export function staticFile(pathname: string): StaticFile | undefined {
  if (pathname === '/') return { path: resolve(appRoot, 'web/index.html'), type: MIME.html };
  const parts = pathname.split('/');
  if (parts.length === 2 && PAGE_FILES.includes(parts[1]))
    return { path: resolve(appRoot, 'web', parts[1]), type: typeOf(parts[1]) };
  if (parts.length === 2 && ENGINE_FILE.test(parts[1]))
    return { path: join(engineDir, parts[1]), type: typeOf(parts[1]) };
  if (parts.length === 4 && parts[1] === 'models' && MODEL_FILES.has(parts[3])) {
    const model = BUILTIN_MODELS.find((m) => m.name === parts[2]);
    if (model && (Object.values(PAGE_MODELS) as string[]).includes(model.name))
      return { path: join(model.dir, parts[3]), type: typeOf(parts[3]) };
  }
  return undefined;
}

/** Whether dist/web/ holds the bundled engine (it is built by `pnpm build`). */
export const haveEngine = (): boolean => existsSync(join(engineDir, 'attn-page.js'));

/**
 * Writes the page, the engine and the page's built-in models into `out` (replaced whole, through a
 * temporary folder beside it): a folder that works on any static file server, with no attn server behind it.
 */
export function writeStaticSite(out: string): void {
  if (!haveEngine())
    throw new Error(
      `${join(engineDir, 'attn-page.js')} is missing: run \`pnpm build\` (scripts/build-web.mjs) first`,
    );
  const tmp = `${out}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of PAGE_FILES) copyFileSync(resolve(appRoot, 'web', f), join(tmp, f));
  for (const f of readdirSync(engineDir).filter((f) => ENGINE_FILE.test(f)))
    copyFileSync(join(engineDir, f), join(tmp, f));
  for (const name of Object.values(PAGE_MODELS)) {
    const dir = BUILTIN_MODELS.find((m) => m.name === name)!.dir;
    mkdirSync(join(tmp, 'models', name), { recursive: true });
    for (const f of readdirSync(dir).filter((f) => MODEL_FILES.has(f)))
      copyFileSync(join(dir, f), join(tmp, 'models', name, f));
  }
  rmSync(out, { recursive: true, force: true });
  renameSync(tmp, out);
}

/** The bytes of a static file, or undefined when it does not exist (the engine before a build). */
export function readStatic(file: StaticFile): Buffer | undefined {
  try {
    return readFileSync(file.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
