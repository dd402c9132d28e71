/**
 * Reading request bodies with a size limit (413 beyond it), as raw bytes, JSON, or the first file of a
 * multipart/form-data upload (parsed by busboy).
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';

/** An error with the HTTP status it should be answered with. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, `request body larger than ${limit} bytes`);
}

export async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit) throw tooLarge(limit);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const raw = await readRaw(req, limit);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `body is not valid JSON: ${(e as Error).message}`);
  }
}

/** The bytes of the first file in a multipart upload, with the form's text fields. */
export function readMultipartFile(
  req: IncomingMessage,
  limit: number,
): Promise<{ bytes: Buffer; fields: Record<string, string> }> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit + 64 * 1024) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: HttpError) => {
      if (settled) return;
      settled = true;
      req.unpipe();
      req.resume(); // drain what is still coming, so the answer can be read
      reject(e);
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: limit, fields: 20 } });
    } catch (e) {
      fail(new HttpError(400, `bad multipart request: ${(e as Error).message}`));
      return;
    }
    const fields: Record<string, string> = {};
    const parts: Buffer[] = [];
    let sawFile = false;
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (_name, stream) => {
      sawFile = true;
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('limit', () => fail(tooLarge(limit)));
      // A body cut off inside the file ends the file stream with an error; unhandled, it would kill the process.
      stream.on('error', (e: Error) => fail(new HttpError(400, `bad multipart request: ${e.message}`)));
    });
    parser.on('error', (e) => fail(new HttpError(400, `bad multipart request: ${(e as Error).message}`)));
    parser.on('close', () => {
      if (!sawFile) fail(new HttpError(400, 'multipart request has no file'));
      else if (!settled) {
        settled = true;
        resolve({ bytes: Buffer.concat(parts), fields });
      }
    });
    // A client that hangs up mid-body: nobody reads the answer, but the promise must settle all the same.
    req.on('error', (e) => fail(new HttpError(400, `request aborted: ${e.message}`)));
    req.on('close', () => {
      if (!req.complete) fail(new HttpError(400, 'request aborted before the body ended'));
    });
    req.pipe(parser);
  });
}
