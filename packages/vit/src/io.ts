import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `dir/name` atomically: a temp file in the same folder, then a rename (readers never see half a file). */
export async function writeFileAtomic(dir: string, name: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  const final = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.${Date.now()}.tmp`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function writeJsonAtomic(dir: string, name: string, value: unknown): Promise<void> {
  return writeFileAtomic(dir, name, `${JSON.stringify(value, null, 2)}\n`);
}
