import { TokenizerError } from './errors.js';

/**
 * File access without a static import of Node modules, so browser bundles of this package stay clean:
 * URLs go through fetch, paths through a dynamic import of node:fs/promises.
 */
type Fs = typeof import('node:fs/promises');

let fsPromise: Promise<Fs> | undefined;

async function nodeFs(): Promise<Fs> {
  const specifier = 'node:fs/promises'; // a variable keeps bundlers from resolving it
  fsPromise ??= import(/* @vite-ignore */ specifier) as Promise<Fs>;
  try {
    return await fsPromise;
  } catch {
    throw new TokenizerError(
      'reading or writing files needs Node; in the browser pass a URL or use fromFiles()',
    );
  }
}

export function isUrl(location: string): boolean {
  return /^(https?|file|blob|data):/i.test(location);
}

export function joinLocation(dirOrUrl: string, name: string): string {
  return dirOrUrl.endsWith('/') || dirOrUrl.endsWith('\\') ? dirOrUrl + name : `${dirOrUrl}/${name}`;
}

const inPage = typeof process === 'undefined' || !process.versions?.node;

/**
 * The text of a file or URL, or undefined when it does not exist (404 / ENOENT). In a page every location is
 * a URL, so one relative to the page ('./models/bert/vocab.txt') is fetched like an absolute one.
 */
export async function readTextIfExists(
  location: string,
  fetchFile: (url: string) => Promise<Response> = fetch,
): Promise<string | undefined> {
  if (inPage || (isUrl(location) && !location.startsWith('file:'))) {
    const res = await fetchFile(location).catch((e: Error) => {
      if (e.name !== 'TypeError') throw e; // a typed error from the caller's fetch says more than ours
      throw new TokenizerError(`${location}: request failed (${e.message})`);
    });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new TokenizerError(`${location}: HTTP ${res.status} ${res.statusText}`);
    return await res.text();
  }
  const fs = await nodeFs();
  try {
    return await fs.readFile(location.startsWith('file:') ? new URL(location) : location, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TokenizerError(`${location}: ${(e as Error).message}`);
  }
}

/** Writes a file atomically: a temporary file in the same folder, then a rename. Creates the folder. */
export async function writeTextAtomic(dir: string, name: string, text: string): Promise<void> {
  const fs = await nodeFs();
  await fs.mkdir(dir, { recursive: true });
  const path = joinLocation(dir, name);
  const tmp = `${path}.tmp-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  try {
    await fs.writeFile(tmp, text, 'utf8');
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw new TokenizerError(`${path}: ${(e as Error).message}`);
  }
}

/** Lines of a text file, streamed (for corpora larger than memory). */
export async function* readLines(path: string): AsyncGenerator<string> {
  const fs = await nodeFs();
  let handle: Awaited<ReturnType<Fs['open']>>;
  try {
    handle = await fs.open(path, 'r');
  } catch (e) {
    throw new TokenizerError(`${path}: ${(e as Error).message}`);
  }
  try {
    for await (const line of handle.readLines({ encoding: 'utf8' })) yield line;
  } finally {
    await handle.close().catch(() => {}); // readLines() may already have closed it
  }
}
