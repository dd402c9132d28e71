/**
 * Lines of a stream, read chunk by chunk with backpressure (the stream is paused while the consumer works),
 * so reading a file of a million lines holds one chunk and one batch in memory, never the file.
 */
import type { Readable } from 'node:stream';

export interface Line {
  /** 1-based line number in the input. */
  number: number;
  text: string;
  /** Bytes consumed so far, for progress over a file of known size. */
  bytes: number;
}

export async function* readLines(stream: Readable): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  let number = 0;
  let bytes = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    bytes += buf.length;
    rest += decoder.decode(buf, { stream: true });
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n', start)) {
      number++;
      yield { number, text: rest.slice(start, nl).replace(/\r$/, ''), bytes };
      start = nl + 1;
    }
    rest = rest.slice(start);
  }
  rest += decoder.decode();
  if (rest.length) yield { number: number + 1, text: rest.replace(/\r$/, ''), bytes };
}
