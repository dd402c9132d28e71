/**
 * An exclusive write lock on a store folder, shared by every process and connection that writes it: a lockfile
 * created with O_EXCL (`open(path, 'wx')`), holding who took it. Lance's optimistic commits alone do not make
 * concurrent merge-inserts safe: a merge planned against a version another writer has since committed to can
 * insert an id that writer just added (seen as duplicate rows), so writers take turns and each merges against
 * the latest version.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export class StoreLockError extends Error {
  override readonly name = 'StoreLockError';
}

interface Holder {
  pid: number;
  host: string;
  time: string;
  token: string;
}

export interface LockOptions {
  /** A lock whose file has not been refreshed for this long is taken to be abandoned (holder on another host died). */
  staleMs?: number;
  /** Give up waiting after this long, with the holder named. */
  timeoutMs?: number;
}

export const LOCK_FILE = '.attn-write.lock';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<Holder | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Holder;
  } catch {
    // gone, or its holder is between create and write: judged by the file's age alone
    return undefined;
  }
}

/** Local folders only: an object-store URI (s3://…) has no O_EXCL create, so there is nothing to lock on. */
export function isLocalPath(dir: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(dir) || dir.startsWith('file://');
}

/** Runs `fn` holding `dir`'s write lock; waits (with backoff) for another holder, breaks a dead one's lock. */
export async function withWriteLock<T>(
  dir: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const staleMs = opts.staleMs ?? 30_000;
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const folder = dir.startsWith('file://') ? new URL(dir).pathname : dir;
  await mkdir(folder, { recursive: true });
  const path = join(folder, LOCK_FILE);
  const me: Holder = {
    pid: process.pid,
    host: hostname(),
    time: new Date().toISOString(),
    token: randomUUID(),
  };
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(JSON.stringify(me));
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = await readHolder(path);
    let age: number;
    try {
      age = Date.now() - (await stat(path)).mtimeMs;
    } catch {
      continue; // released between our open and stat: try again at once
    }
    const dead = holder !== undefined && holder.host === me.host && !pidAlive(holder.pid);
    if (dead || age > staleMs) await breakLock(path, holder);
    else if (Date.now() - started > timeoutMs)
      throw new StoreLockError(
        `${path}: still held after ${Math.round(timeoutMs / 1000)} s by ${holder ? `pid ${holder.pid} on ${holder.host} since ${holder.time}` : 'an unknown writer'} (delete the file if that process is gone)`,
      );
    else
      await new Promise((r) =>
        setTimeout(r, Math.min(250, 5 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random())),
      );
  }
  // A live holder keeps its file fresh, so a long merge is never mistaken for an abandoned lock.
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => {});
  }, staleMs / 4);
  heartbeat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    // Only our own lock: if ours was broken as stale, the file now is another writer's.
    if ((await readHolder(path))?.token === me.token) await unlink(path).catch(() => {});
  }
}

/**
 * Removes an abandoned lock. Two waiters may both decide to break it; renaming it aside is atomic, and the one
 * that finds it moved a fresh lock (taken by a third writer meanwhile) puts it back with link, which never
 * overwrites.
 */
async function breakLock(path: string, stale: Holder | undefined): Promise<void> {
  const aside = `${path}.${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = await readHolder(aside);
  if (stale && moved && moved.token !== stale.token) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
}
