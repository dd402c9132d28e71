/**
 * Lines of a stream, read chunk by chunk with backpressure (the stream is paused while the consumer works),
 * so reading a file of a million lines holds one chunk and one batch in memory, never the file. Each chunk is
 * scanned once (a long line is kept as a list of pieces, not re-searched as it grows), and a line may not
 * outgrow `maxLineLength`: one endless line must not take all the memory.
 */
import type { Readable } from 'node:stream';

export interface Line {
  /** 1-based line number in the input. */
  number: number;
  text: string;
  /** Bytes consumed so far, for progress over a file of known size. */
  bytes: number;
}

/** 1 MiB of characters: far beyond what a model reads (a few hundred tokens), far below what hurts. */
export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

export class LineTooLongError extends Error {
  override readonly name = 'LineTooLongError';
  constructor(
    readonly source: string,
    readonly line: number,
    readonly limit: number,
  ) {
    super(`${source}: line ${line} is longer than ${limit} characters (--max-line-length raises the limit)`);
  }
}

export interface ReadLinesOptions {
  /** Names the input in errors (a file name, or "stdin"). */
  source?: string;
  /** Longest line accepted, in UTF-16 characters; longer is a LineTooLongError. */
  maxLineLength?: number;
}

export async function* readLines(stream: Readable, opts: ReadLinesOptions = {}): AsyncGenerator<Line> {
  const source = opts.source ?? 'input';
  const limit = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const decoder = new TextDecoder('utf-8');
  let pieces: string[] = [];
  let pending = 0;
  let number = 0;
  let bytes = 0;
  const line = (last: string): Line => {
    pieces.push(last);
    const text = pieces.join('').replace(/\r$/, '');
    pieces = [];
    pending = 0;
    return { number, text, bytes };
  };
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    bytes += buf.length;
    const text = decoder.decode(buf, { stream: true });
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      number++;
      const done = line(text.slice(start, nl));
      if (done.text.length > limit) throw new LineTooLongError(source, number, limit);
      yield done;
      start = nl + 1;
    }
    if (start < text.length) {
      pieces.push(text.slice(start));
      pending += text.length - start;
      // +1: a CRLF line's "\r" may still come, and is not part of the line
      if (pending > limit + 1) throw new LineTooLongError(source, number + 1, limit);
    }
  }
  const tail = decoder.decode();
  if (pending + tail.length > 0) {
    number++;
    const last = line(tail);
    if (last.text.length > limit) throw new LineTooLongError(source, number, limit);
    yield last;
  }
}
