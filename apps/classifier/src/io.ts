/**
 * How commands talk to the outside: injected streams (so tests run commands in-process), one-line errors,
 * and the two output formats (human text, or one JSON object per input per line with --json).
 */
import { once } from 'node:events';
import { closeSync, createReadStream, fstatSync, openSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { BackendInfo, Device, DType } from '@attn/core-tensor';

export interface Io {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
}

export const processIo: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

/** What every command receives: where to write, the global flags, and the backend (started on first use). */
export interface Context {
  io: Io;
  json: boolean;
  /** --device: where the pipelines run ('auto' by default). */
  device: Device;
  /** --dtype: the weight precision pipelines load ('fp32' when not given). */
  dtype: DType;
  /** Whether --dtype was given (search and worker follow their table's dtype unless told otherwise). */
  dtypeGiven: boolean;
  /** A tfjs backend, for the steps that run on tfjs whatever the device (training, export). */
  backend(): Promise<BackendInfo>;
}

export interface Prediction {
  label: string;
  score: number;
}

/** A mistake in how the command was called (missing text, unknown option value): exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A file named on the command line that cannot be read: missing, a folder, no permission. */
export class InputFileError extends Error {
  override readonly name = 'InputFileError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot read ${path}: ${reason}`);
  }
}

/**
 * Opens `path` now, so a missing file is one InputFileError before any work, not a stream 'error' event that
 * fires later with nobody listening (and kills the process with a stack trace).
 */
export function openInputFile(path: string): { stream: Readable; size: number } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reasons: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied' };
    throw new InputFileError(path, reasons[code ?? ''] ?? (e as Error).message);
  }
  const stat = fstatSync(fd);
  if (stat.isDirectory()) {
    closeSync(fd);
    throw new InputFileError(path, 'it is a folder, not a file');
  }
  return { stream: createReadStream('', { fd }), size: stat.size };
}

/** Writes one line and waits when the stream's buffer is full, so a slow reader bounds our memory. */
export async function writeLine(stream: Writable, line: string): Promise<void> {
  if (!stream.write(`${line}\n`)) await once(stream, 'drain');
}

/** An error as one line: the class name (when it says more than "Error") and the message, newlines folded. */
export function errorLine(e: unknown): string {
  const err = e instanceof Error ? e : new Error(String(e));
  const prefix = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
  return `${prefix}${err.message}`.replace(/\s*\n\s*/g, ' ');
}

export async function reportError(ctx: Context, input: string, e: unknown): Promise<void> {
  await writeLine(ctx.io.stderr, `attn: ${input}: ${errorLine(e)}`);
}

/** Scores rounded to 6 decimals: enough to compare, short enough to read. */
function roundScores(predictions: Prediction[]): Prediction[] {
  return predictions.map((p) => ({ ...p, score: Math.round(p.score * 1e6) / 1e6 }));
}

/** `{"input": …, "predictions": [{"label", "score"}…]}` with --json; `input  label (98.1%)  label (1.2%)` without. */
export async function writePredictions(
  ctx: Context,
  input: string,
  predictions: Prediction[],
): Promise<void> {
  if (ctx.json) {
    await writeLine(ctx.io.stdout, JSON.stringify({ input, predictions: roundScores(predictions) }));
    return;
  }
  const ranked = predictions.map((p) => `${p.label} (${(p.score * 100).toFixed(1)}%)`).join('  ');
  await writeLine(ctx.io.stdout, `${input}  ${ranked}`);
}

/** A text shortened for display on one line. */
export function ellipsize(text: string, max = 60): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
