import * as tf from '@tensorflow/tfjs-core';
import type * as Ort from 'onnxruntime-node';
import { importOnnxRuntime, node } from '../platform/node.js';
import type { ProtoWriter } from './protobuf.js';
import { writeOnnxFile } from './write.js';

/** onnxruntime-node is an optional peer dependency: only the 'onnx' runtime needs it. */
export class OnnxRuntimeUnavailableError extends Error {
  constructor(cause: unknown) {
    super(
      `the 'onnx' runtime needs onnxruntime-node (npm install onnxruntime-node): ${(cause as Error).message ?? cause}`,
    );
    this.name = 'OnnxRuntimeUnavailableError';
  }
}

export interface OnnxSessionOptions {
  /** Threads for one run (default: onnxruntime's choice, every core). */
  threads?: number;
  /** Let onnxruntime's idle threads busy-wait for the next op (its default; ours is off, see `create`). */
  spinning?: boolean;
}

/**
 * An ONNX model on onnxruntime-node (native MLAS kernels, every core), with tfjs tensors in and out: the way
 * to run an exported attn model at the speed of native inference in Node while keeping one API.
 * int32 inputs become ONNX int64; outputs come back as tfjs tensors the caller owns.
 */
export class OnnxSession {
  private constructor(
    private readonly ort: typeof Ort,
    private readonly session: Ort.InferenceSession,
  ) {}

  /** From a file path, the bytes of a model, or a graph just encoded by an exporter. */
  static async create(model: string | Uint8Array | ProtoWriter, opts: OnnxSessionOptions = {}) {
    let ort: typeof Ort;
    try {
      ort = await importOnnxRuntime();
    } catch (e) {
      throw new OnnxRuntimeUnavailableError(e);
    }
    const options: Ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      ...(opts.threads && { intraOpNumThreads: opts.threads, interOpNumThreads: 1 }),
      // onnxruntime's pool threads busy-wait between ops by default. Where the same cores also decode images or
      // tokenize (the pipelines' streams) that spinning takes the CPU the other work needs: ViT-Tiny q8,
      // batch 16, ran 200 images in 2.14 s instead of 2.59 without it (2 cores; bench/README.md).
      ...(!opts.spinning && {
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      }),
    };
    if (typeof model === 'string' || model instanceof Uint8Array)
      return new OnnxSession(ort, await createSession(ort, model, options));
    // An encoded graph goes through a temporary file: joining its chunks into one buffer would hold the
    // weights a second time while onnxruntime parses them.
    const { mkdtemp, rm } = node.fsp;
    const { tmpdir } = node.os;
    const { join } = node.path;
    const dir = await mkdtemp(join(tmpdir(), 'attn-onnx-'));
    try {
      const path = join(dir, 'model.onnx');
      writeOnnxFile(path, model);
      return new OnnxSession(ort, await createSession(ort, path, options));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph; feeds are read asynchronously (any backend), outputs are new tfjs tensors. */
  async run(feeds: Record<string, tf.Tensor>): Promise<Record<string, tf.Tensor>> {
    const ortFeeds: Record<string, Ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const data = await t.data();
      ortFeeds[name] =
        t.dtype === 'int32'
          ? new this.ort.Tensor(
              'int64',
              BigInt64Array.from(data as Int32Array, (v) => BigInt(v)),
              t.shape,
            )
          : new this.ort.Tensor('float32', data as Float32Array, t.shape);
    }
    const results = await this.session.run(ortFeeds);
    const out: Record<string, tf.Tensor> = {};
    for (const [name, r] of Object.entries(results)) {
      out[name] = tf.tensor(r.data as Float32Array, r.dims as number[], 'float32');
      r.dispose();
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** onnxruntime's create() overloads take a path or bytes, not the union. */
function createSession(
  ort: typeof Ort,
  model: string | Uint8Array,
  options: Ort.InferenceSession.SessionOptions,
) {
  return typeof model === 'string'
    ? ort.InferenceSession.create(model, options)
    : ort.InferenceSession.create(model, options);
}
