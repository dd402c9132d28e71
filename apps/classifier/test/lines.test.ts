import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readLines } from '../src/lines.js';

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
