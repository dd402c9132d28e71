import { node } from '../platform/node.js';
import { SafetensorsError } from './errors.js';

/** Random access to the bytes of one safetensors file, wherever they live. */
export interface ByteSource {
  /** File path or "<bytes>", used in error messages. */
  readonly name: string;
  readonly size: number;
  /** True when the bytes are already in memory, so reads return views. */
  readonly inMemory: boolean;
  /** Bytes [offset, offset + into.byteLength) into `into` (a file) or a view of them (a buffer). */
  read(offset: number, length: number, into?: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export type SafetensorsInput = string | ArrayBuffer | ArrayBufferView;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const isUrl = (s: string) => /^https?:\/\//.test(s);

/** A path (Node) or URL (fetched whole), or bytes already in memory (viewed, never copied). */
export async function openSource(input: SafetensorsInput): Promise<ByteSource> {
  if (typeof input !== 'string') return bufferSource(toBytes(input), '<bytes>');
  if (isUrl(input) || !isNode) {
    const res = await fetch(input);
    if (!res.ok) throw new SafetensorsError('BAD_INPUT', input, `fetch failed with HTTP ${res.status}`);
    return bufferSource(new Uint8Array(await res.arrayBuffer()), input);
  }
  return fileSource(input);
}

export function toBytes(input: ArrayBuffer | ArrayBufferView): Uint8Array {
  return input instanceof ArrayBuffer
    ? new Uint8Array(input)
    : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
}

function bufferSource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    inMemory: true,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
    close: async () => {},
  };
}

/** Reads only the ranges asked for, so a file's declared sizes are checked before anything big is allocated. */
async function fileSource(path: string): Promise<ByteSource> {
  const { open } = node.fsp;
  let fh: import('node:fs/promises').FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new SafetensorsError('BAD_INPUT', path, `cannot open (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const { size } = await fh.stat();
  return {
    name: path,
    size,
    inMemory: false,
    async read(offset, length, into = new Uint8Array(length)) {
      for (let done = 0; done < length; ) {
        const { bytesRead } = await fh.read(into, done, length - done, offset + done);
        if (bytesRead === 0)
          throw new SafetensorsError('TRUNCATED', path, `file ended at byte ${offset + done} while reading`);
        done += bytesRead;
      }
      return into;
    },
    close: () => fh.close(),
  };
}
