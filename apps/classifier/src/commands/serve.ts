/** `attn serve`: the HTTP API and the web page (see server/app.ts), until Ctrl-C. */
import { resolveDevice } from '@attn/core-tensor';
import type { Context } from '../io.js';
import { writeLine } from '../io.js';
import { startServer } from '../server/app.js';

export interface ServeOptions {
  port: number;
  host: string;
  imageModel?: string;
  textModel?: string;
  maxBatch: number;
  windowMs: number;
  maxQueue: number;
  maxBodyBytes: number;
  maxConnections?: number;
  allowedHosts?: string[];
  cors?: string[];
}

export async function serveCommand(opts: ServeOptions, ctx: Context): Promise<number> {
  const backend = await ctx.backend();
  // The pipelines resolve --device the same way: this names the engine they run on.
  const { description } = await resolveDevice(ctx.device);
  const server = await startServer({ ...opts, backend, device: ctx.device, dtype: ctx.dtype });
  await writeLine(
    ctx.io.stderr,
    `attn serve: http://${opts.host}:${server.port}/ (device ${description}, dtype ${ctx.dtype}; Ctrl-C stops)`,
  );
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
