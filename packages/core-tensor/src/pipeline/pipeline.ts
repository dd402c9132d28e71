import { type HubOptions, OPTIONAL_FILES, weightCandidates } from '../hub/resolve.js';
import { WEIGHT_DTYPES, type WeightDType } from '../onnx/quantize.js';
import { node } from '../platform/node.js';
import { type Device, type ResolvedDevice, resolveDevice } from './device.js';
import { MissingWeightsError, PipelineError } from './errors.js';
import { type ProgressCallback, ProgressReporter } from './progress.js';

/**
 * Weight precisions a pipeline can run at (transformers.js' names). On the native engine 'q8' is int8 per-channel
 * weights with dynamic int8 activations (int8 matmuls); on tfjs, and for 'fp16' everywhere, the weights are read
 * at that precision (from `model.fp16.safetensors` / `model.q8.safetensors` where the folder has them: the
 * smaller download) and computed in float32.
 */
export type DType = WeightDType;
const DTYPES: readonly string[] = WEIGHT_DTYPES;

/** What every `pipeline(task, model, options)` accepts, text and image alike (transformers.js' names). */
export interface PipelineOptions extends Omit<HubOptions, 'onProgress'> {
  /** Default 'auto': native (onnxruntime-node) when installed, else WebGPU on a real GPU, else wasm. */
  device?: Device;
  /** Default 'fp32'. See DType: 'q8' is int8 compute on the native device, dequantised weights on tfjs. */
  dtype?: DType;
  /** Receives { status: 'initiate' | 'download' | 'progress' | 'done' | 'ready', … } while loading. */
  progress_callback?: ProgressCallback;
  /**
   * Run even when the checkpoint lacks the task's head (it is then randomly initialised), e.g. to
   * fine-tune a pre-trained encoder. Default false: a missing head is a MissingWeightsError.
   */
  allowRandomHead?: boolean;
  /** Threads for the wasm backend or the native engine (default: every core). */
  threads?: number;
}

/** What `preparePipeline` hands the package that builds the task. */
export interface PipelineContext {
  dir: string;
  device: ResolvedDevice;
  dtype: DType;
  hub: HubOptions;
  progress: ProgressReporter;
}

/**
 * The steps every pipeline takes before its package loads a model: check the options, start the device,
 * and resolve the folder (downloading a hub id, with progress events).
 */
export async function preparePipeline(
  task: string,
  model: string,
  opts: PipelineOptions,
  resolveDir: (model: string, hub: HubOptions) => Promise<string>,
): Promise<PipelineContext> {
  if (typeof model !== 'string' || model === '')
    throw new PipelineError(
      'BAD_OPTION',
      `${task}: model must be a folder, a hub id or a URL, got ${JSON.stringify(model)}`,
    );
  if (opts.dtype !== undefined && !DTYPES.includes(opts.dtype))
    throw new PipelineError(
      'UNSUPPORTED_DTYPE',
      `${task}: option dtype ${JSON.stringify(opts.dtype)} is not supported (${DTYPES.join(', ')})`,
    );
  if (opts.threads !== undefined && (!Number.isInteger(opts.threads) || opts.threads < 1))
    throw new PipelineError('BAD_OPTION', `${task}: threads must be a whole number ≥ 1, got ${opts.threads}`);
  const { device: _d, dtype: _t, progress_callback, allowRandomHead: _a, threads, ...rest } = opts;
  const device = await resolveDevice(opts.device ?? 'auto', { threads });
  const dtype = opts.dtype ?? 'fp32';
  const progress = new ProgressReporter(model, progress_callback);
  // The hub options carry the dtype: a download fetches that precision's weights file, loading reads it.
  const hub: HubOptions = { ...rest, dtype, onProgress: progress.onDownload };
  const dir = await resolveDir(model, hub);
  if (isNode) progress.announceLocal(await localFiles(dir, dtype));
  return { dir, device, dtype, hub, progress };
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

/** The files of a model folder a pipeline reads, with their sizes, for the progress events. */
async function localFiles(dir: string, dtype: DType): Promise<{ file: string; bytes: number }[]> {
  const { stat } = node.fsp;
  const { join } = node.path;
  const isFile = async (f: string) => (await stat(join(dir, f)).catch(() => null))?.isFile() ?? false;
  // The weights loading will read: the first precision's files the folder has (see weightCandidates).
  let weights: string[] = [];
  for (const w of weightCandidates(dtype))
    if ((await isFile(w.single)) || (await isFile(w.index))) {
      weights = [w.single, w.index];
      break;
    }
  const names = ['config.json', ...weights, ...OPTIONAL_FILES, 'modules.json'];
  const found = await Promise.all(
    names.map(async (file) => {
      const s = await stat(join(dir, file)).catch(() => null);
      return s?.isFile() ? { file, bytes: s.size } : null;
    }),
  );
  return found.filter((f) => f !== null);
}

/**
 * Throws MissingWeightsError when the checkpoint lacked any of the task's own weights. `optional` names the
 * parameters the task never reads (e.g. BERT's pooler for fill-mask), which may be missing.
 */
export function checkHeadWeights(
  task: string,
  dir: string,
  missing: readonly string[],
  opts: { allowRandomHead?: boolean; optional?: RegExp } = {},
): void {
  if (opts.allowRandomHead) return;
  const needed = missing.filter((n) => !opts.optional?.test(n));
  if (needed.length) throw new MissingWeightsError(task, dir, needed);
}

/**
 * A loaded task that is called like a function, as transformers.js' pipelines are:
 * `await classifier(input, options)`. Subclasses implement `_call`.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below adds the call signature
export abstract class Pipeline<In, Opts, Out> {
  declare readonly task: string;
  /** The engine that runs the model: `pipe.device.description` says which. */
  declare readonly device: ResolvedDevice;

  constructor(task: string, device: ResolvedDevice) {
    // A function object with this class's prototype: callable, and still an instance with methods.
    // Subclass fields land on it too, since it is what `this` is after super().
    const call = (input: In, options?: Opts) => (call as unknown as this)._call(input, options);
    const self = Object.setPrototypeOf(call, new.target.prototype);
    Object.defineProperty(self, 'task', { value: task, enumerable: true });
    Object.defineProperty(self, 'device', { value: device, enumerable: true });
    // biome-ignore lint/correctness/noConstructorReturn: what makes a pipeline callable
    return self;
  }

  protected abstract _call(input: In, options?: Opts): Promise<Out>;

  /** Frees the weights (tfjs memory or the native session). */
  abstract dispose(): Promise<void>;
}

// Instances are callable: `pipe(input, options)` is `_call(input, options)`. A call signature cannot be
// declared on a class, hence the merge; the constructor above is what makes it true.
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see above
export interface Pipeline<In, Opts, Out> {
  (input: In, options?: Opts): Promise<Out>;
}
