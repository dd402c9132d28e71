import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LineTooLongError, readLines } from '../src/lines.js';

async function collect(chunks: Buffer[]) {
  const out = [];
  for await (const line of readLines(Readable.from(chunks))) out.push(line);
  return out;
}

describe('readLines', () => {
  it('splits lines across chunk boundaries, inside a UTF-8 character and at CRLF', async () => {
    const bytes = Buffer.from('héllo\r\nwörld\n\nlast', 'utf8');
    // cut in the middle of "é" (2 bytes) and of "ö"
    const parts = [bytes.subarray(0, 2), bytes.subarray(2, 10), bytes.subarray(10)];
    const lines = await collect(parts);
    expect(lines.map((l) => [l.number, l.text])).toEqual([
      [1, 'héllo'],
      [2, 'wörld'],
      [3, ''],
      [4, 'last'],
    ]);
    expect(lines.at(-1)!.bytes).toBe(bytes.length);
  });

  it('gives nothing for an empty stream and no phantom line after a final newline', async () => {
    expect(await collect([])).toEqual([]);
    expect((await collect([Buffer.from('a\nb\n')])).map((l) => l.text)).toEqual(['a', 'b']);
  });
});

describe('readLines on long lines', () => {
  it('reads one 50 MB line in linear time', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const chunks = Array.from({ length: 800 }, () => chunk); // 52 MB, no newline until the end
    chunks.push(Buffer.from('\nb\n'));
    const started = performance.now();
    const lines = [];
    for await (const line of readLines(Readable.from(chunks), { maxLineLength: 60_000_000 }))
      lines.push(line.text.length);
    expect(lines).toEqual([800 * 64 * 1024, 1]);
    // the quadratic reader took 18.5 s here
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('stops a line longer than the limit with LineTooLongError naming the source and line', async () => {
    const input = () => Readable.from([Buffer.from('ok\nabcdef'), Buffer.from('ghij\nfine\n')]);
    const read = async (maxLineLength: number) => {
      const out: string[] = [];
      for await (const l of readLines(input(), { source: 'notes.txt', maxLineLength })) out.push(l.text);
      return out;
    };
    await expect(read(9)).rejects.toThrow(new LineTooLongError('notes.txt', 2, 9));
    await expect(read(9)).rejects.toThrow('notes.txt: line 2 is longer than 9 characters');
    expect(await read(10)).toEqual(['ok', 'abcdefghij', 'fine']);
    // the limit counts the line without its CRLF, and holds for a last line with no newline
    const crlf = async (text: string, maxLineLength: number) => {
      const out: string[] = [];
      for await (const l of readLines(Readable.from([Buffer.from(text)]), { maxLineLength }))
        out.push(l.text);
      return out;
    };
    expect(await crlf('abc\r\nxyz', 3)).toEqual(['abc', 'xyz']);
    await expect(crlf('abc\nwxyz', 3)).rejects.toThrow('input: line 2 is longer than 3 characters');
    await expect(crlf('a'.repeat(5000), 100)).rejects.toBeInstanceOf(LineTooLongError);
  });
});
