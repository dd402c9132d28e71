/** bench/README.md's sections that the bench writes, each between `<!-- NAME:start -->` and `<!-- NAME:end -->`. */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const readmePath = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '..'), 'README.md');

/** Replaces the section (appended when missing), atomically: a reader never sees half a README. */
export function writeReadmeSection(name: string, md: string): void {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '# @attn/bench\n';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next =
    i >= 0 && j > i
      ? `${text.slice(0, i + start.length)}\n${md}\n${text.slice(j)}`
      : `${text}\n${start}\n${md}\n${end}\n`;
  const tmp = `${readmePath}.${process.pid}.tmp`;
  writeFileSync(tmp, next);
  renameSync(tmp, readmePath);
}
