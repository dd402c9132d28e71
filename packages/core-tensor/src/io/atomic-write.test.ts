import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { atomicWriteFile } from './atomic-write.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'attn-atomic-'));

describe('atomicWriteFile', () => {
  it('replaces the file with the complete new content and leaves no temporary file', async () => {
    const dir = tmp();
    const path = join(dir, 'ckpt.bin');
    writeFileSync(path, 'old');
    await atomicWriteFile(path, [new Uint8Array([1, 2]), new Uint8Array([3])]);
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    await atomicWriteFile(path, 'text');
    expect(readFileSync(path, 'utf8')).toBe('text');
    expect(readdirSync(dir)).toEqual(['ckpt.bin']);
  });

  it('removes its temporary file and keeps the old one when the data source fails', async () => {
    const dir = tmp();
    const path = join(dir, 'ckpt.bin');
    writeFileSync(path, 'old');
    async function* failing() {
      yield new Uint8Array(10);
      throw new Error('tensor read failed');
    }
    await expect(atomicWriteFile(path, failing())).rejects.toThrow('tensor read failed');
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['ckpt.bin']);
  });

  it('leaves the old file intact when the writing process is killed mid-save', async () => {
    const dir = tmp();
    const path = join(dir, 'ckpt.bin');
    writeFileSync(path, 'old checkpoint');
    // The child runs the real module, transpiled to plain JS, and writes 64 MB in slow 1 MB chunks.
    // It reaches Node's built-ins through the platform seam, transpiled beside it.
    const transpile = (file: string) =>
      ts.transpileModule(readFileSync(new URL(file, import.meta.url), 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
    writeFileSync(
      join(dir, 'atomic-write.mjs'),
      transpile('./atomic-write.ts').replace("'../platform/node.js'", "'./node.mjs'"),
    );
    writeFileSync(join(dir, 'node.mjs'), transpile('../platform/node.ts'));
    writeFileSync(
      join(dir, 'child.mjs'),
      `import { atomicWriteFile } from './atomic-write.mjs';
       async function* slow() {
         for (let i = 0; i < 64; i++) {
           yield new Uint8Array(1 << 20).fill(i);
           if (i === 2) process.stdout.write('writing\\n');
           await new Promise((r) => setTimeout(r, 20));
         }
       }
       await atomicWriteFile(${JSON.stringify(path)}, slow());
       process.stdout.write('done\\n');`,
    );
    const child = spawn(process.execPath, [join(dir, 'child.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const said = await new Promise<string>((ok) => child.stdout.once('data', (d) => ok(String(d))));
    expect(said).toBe('writing\n');
    child.kill('SIGKILL');
    await new Promise((ok) => child.once('exit', ok));
    expect(readFileSync(path, 'utf8')).toBe('old checkpoint');
    // The killed writer's temporary file may remain, but it never has the checkpoint's name.
    const left = readdirSync(dir).filter((f) => f.startsWith('.ckpt.bin.') && f.endsWith('.tmp'));
    expect(left).toHaveLength(1);
    expect(left[0]).toContain(`.${child.pid}.`);

    // The next write in that folder removes the dead writer's leftover, and only that.
    const live = [`.other.${process.ppid}.abc.tmp`, `.mine.${process.pid}.abc.part`];
    for (const f of live) writeFileSync(join(dir, f), 'in progress');
    await atomicWriteFile(join(dir, 'unrelated.json'), '{}');
    expect(readdirSync(dir).sort()).toEqual(
      [...live, 'atomic-write.mjs', 'child.mjs', 'ckpt.bin', 'node.mjs', 'unrelated.json'].sort(),
    );
  });
});
