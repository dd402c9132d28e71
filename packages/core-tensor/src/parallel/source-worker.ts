/**
 * Starting a worker from TypeScript sources (tests, tsx). Node 20 applies no loader hooks inside worker
 * threads, so a .ts worker cannot be imported there. Instead the worker's workspace code (`@attn/*` under
 * the `@attn/source` condition, relative .ts files) is bundled with esbuild — the one tsx already uses — into
 * one ESM file; every npm package stays external, imported by absolute path, so tfjs is the same module
 * file as in the main thread. Only for development: a built package starts its dist/ .js worker directly.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface EsbuildPluginBuild {
  onResolve(
    o: { filter: RegExp },
    cb: (a: {
      path: string;
      importer: string;
      resolveDir: string;
      kind: string;
      pluginData?: unknown;
    }) => unknown,
  ): void;
  resolve(
    path: string,
    o: { resolveDir: string; kind: string; pluginData?: unknown },
  ): Promise<{ path: string; errors: unknown[] }>;
}
interface Esbuild {
  build(o: Record<string, unknown>): Promise<unknown>;
}

const built = new Map<string, URL>();

/**
 * Bundles `entry` (a .ts worker) and returns the URL of the bundle. `resolveFrom` is a file URL from which
 * `tsx` (and so esbuild) can be resolved, typically the caller's `import.meta.url`.
 */
export async function bundleSourceWorker(entry: URL, resolveFrom: string): Promise<URL> {
  const cached = built.get(entry.href);
  if (cached) return cached;
  const tsxPkg = createRequire(resolveFrom).resolve('tsx/package.json');
  const esbuild = (await import(pathToFileURL(createRequire(tsxPkg).resolve('esbuild')).href)) as Esbuild;
  const dir = join(tmpdir(), 'attn-source-workers');
  mkdirSync(dir, { recursive: true });
  const hash = createHash('sha256')
    .update(`${entry.href}:${process.pid}:${Date.now()}`)
    .digest('hex')
    .slice(0, 12);
  const outfile = join(dir, `worker-${hash}.mjs`);
  const keepExternal = {
    name: 'npm-packages-external',
    setup(build: EsbuildPluginBuild) {
      build.onResolve({ filter: /^[^./]/ }, async (a) => {
        if (a.path.startsWith('node:') || a.pluginData === 'inner') return undefined;
        // Workspace packages are bundled from source; so is tfjs-core's ESM dist (its bundler-style imports
        // do not load in plain Node).
        if (a.path.startsWith('@attn/') || a.path.includes('tfjs-core/dist/')) return undefined;
        const r = await build.resolve(a.path, {
          resolveDir: a.resolveDir,
          kind: a.kind,
          pluginData: 'inner',
        });
        if (r.errors.length) return { path: a.path, external: true }; // optional dependency: fail at run time
        return { path: pathToFileURL(r.path).href, external: true };
      });
    },
  };
  await esbuild.build({
    entryPoints: [fileURLToPath(entry)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    conditions: ['@attn/source'],
    plugins: [keepExternal],
    logLevel: 'silent',
  });
  const url = pathToFileURL(outfile);
  built.set(entry.href, url);
  return url;
}
