/**
 * esbuild as tsx ships it (no extra dependency), bundling a workspace package for a web page the way a user's
 * bundler would: platform=browser, so package.json `browser` maps apply. With `@attn/source` the packages
 * resolve to their TypeScript sources, so the check never reads a stale dist/.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** The part of esbuild's API used here (its types are not a dependency of this package). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{
    metafile: { inputs: Record<string, { imports: { path: string; external?: boolean }[] }> };
    outputFiles: { path: string; text: string }[];
  }>;
}
let esbuild: Promise<Esbuild> | undefined;

export function loadEsbuild(): Promise<Esbuild> {
  esbuild ??= (async () => {
    const tsx = createRequire(import.meta.url).resolve('tsx/package.json');
    return (await import(pathToFileURL(createRequire(tsx).resolve('esbuild')).href)) as Esbuild;
  })();
  return esbuild;
}

export interface PageBundle {
  code: string;
  /** Every file esbuild read, as the metafile names them (repo-relative, node_modules paths included). */
  inputs: string[];
  /** Every import that stayed outside the bundle. */
  external: string[];
}

export async function bundleForBrowser(
  contents: string,
  resolveDir: string,
  opts: { source?: boolean; minify?: boolean } = {},
): Promise<PageBundle> {
  const { build } = await loadEsbuild();
  const result = await build({
    stdin: { contents, resolveDir, loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    minify: opts.minify ?? false,
    logLevel: 'silent',
    conditions: opts.source === false ? [] : ['@attn/source'],
    outdir: 'out',
    loader: { '.wasm': 'file' },
  });
  const inputs = Object.keys(result.metafile.inputs);
  const external = Object.values(result.metafile.inputs).flatMap((i) =>
    i.imports.filter((x) => x.external).map((x) => x.path),
  );
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  return { code: js?.text ?? '', inputs, external };
}
