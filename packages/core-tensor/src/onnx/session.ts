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
  /**
   * onnxruntime's memory pattern (default on): after the first run it plans one block for every intermediate
   * tensor, held from then on in its arena. Off, the arena serves each tensor as it is needed and reuses what
   * the run has released: for a training step, whose saved activations are most of its memory
   * (NativeTrainStep turns it off).
   */
  memoryPattern?: boolean;
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
      ...(opts.memoryPattern === false && { enableMemPattern: false }),
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
  async run(feeds: Record<string, tf.Tensor>, opts: OnnxRunOptions = {}): Promise<Record<string, tf.Tensor>> {
    const ortFeeds: Record<string, Ort.Tensor> = {};
    const views: Float32Array[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      const view = opts.inPlace ? heapView(t) : undefined;
      if (view) views.push(view);
      const data = view ?? (await t.data());
      ortFeeds[name] =
        t.dtype === 'int32'
          ? new this.ort.Tensor(
              'int64',
              BigInt64Array.from(data as Int32Array, (v) => BigInt(v)),
              t.shape,
            )
          : new this.ort.Tensor('float32', data as Float32Array, t.shape);
    }
    let results: Ort.InferenceSession.OnnxValueMapType | undefined;
    try {
      results = await this.session.run(ortFeeds);
    } catch (e) {
      if (!views.some(detached)) throw e;
    }
    // tfjs's wasm memory grew before onnxruntime read it (other work allocated meanwhile), so a view lost its
    // buffer: the run failed or read nothing valid. Rare (the heap only grows to a new high-water); run again
    // on copies.
    if (!results || views.some(detached)) {
      for (const r of Object.values(results ?? {})) r.dispose();
      return this.run(feeds);
    }
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

export interface OnnxRunOptions {
  /**
   * Give onnxruntime the float32 feeds where tfjs keeps them (the wasm backend's heap, the cpu backend's
   * arrays) instead of a copy of each: NativeTrainStep feeds every parameter this way (MiniLM: 133 MB a step
   * not copied). The caller keeps the feeds alive and unchanged until the run resolves.
   */
  inPlace?: boolean;
}

const detached = (v: Float32Array) => v.byteLength === 0;

/**
 * The values of a float32 tensor in place, on the wasm backend (a view of its heap, when that is not shared
 * memory) or the cpu backend (its own array); undefined elsewhere.
 */
function heapView(t: tf.Tensor): Float32Array | undefined {
  if (t.dtype !== 'float32') return undefined;
  type Held = { memoryOffset?: number | null; values?: unknown };
  const backend = (tf.engine().state.tensorInfo as WeakMap<object, { backend: unknown }>).get(t.dataId)
    ?.backend as
    | { wasm?: { HEAPU8: Uint8Array }; dataIdMap?: { get(id: object): Held | undefined } }
    | { data?: { get(id: object): Held | undefined } }
    | undefined;
  if (backend && 'wasm' in backend && backend.wasm && backend.dataIdMap) {
    const offset = backend.dataIdMap.get(t.dataId)?.memoryOffset;
    const heap = backend.wasm.HEAPU8.buffer;
    if (offset == null || !(heap instanceof ArrayBuffer)) return undefined;
    return new Float32Array(heap, offset, t.size);
  }
  if (backend && 'data' in backend && backend.data) {
    const values = backend.data.get(t.dataId)?.values;
    if (values instanceof Float32Array && values.length === t.size) return values;
  }
  return undefined;
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
