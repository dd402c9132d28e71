import * as tf from '@tensorflow/tfjs-core';
import { node } from '../platform/node.js';

/**
 * Multi-threaded tfjs-backend-wasm in Node.
 *
 * tfjs ships a pthreads build of its wasm backend (XNNPACK on a thread pool) but never uses it in Node
 * (tfjs issue #3830): its loader hands Emscripten blob: URLs, which Node's worker_threads cannot start.
 * The Emscripten output itself supports Node, so this loads that build with the two scripts it needs
 * written as plain files (once per tfjs version, in attn's cache folder), and registers it as the 'wasm' backend. tfjs then sizes its pool as
 * "logical cores / 2" (it assumes hyper-threading); the core count it reads is doubled during
 * start-up so the pool gets exactly the threads asked for (at most 8, the workers tfjs pre-creates).
 * Numbers are XNNPACK's either way: threads split the output into tiles, each computed as before.
 */

interface NodeWorker {
  ref(): void;
  unref(): void;
}
interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  tfjs?: Record<string, unknown>;
  PThread?: { unusedWorkers: NodeWorker[]; runningWorkers: NodeWorker[]; getNewWorker(): NodeWorker };
}
type Factory = ((config: object) => Promise<EmscriptenModule>) & { toString(): string };

let registered: number | undefined;

/** Registers the threaded build as 'wasm' before the backend first starts; returns the thread count in use. */
export async function registerThreadedWasm(threads: number): Promise<number> {
  if (registered !== undefined) return registered;
  if (tf.engine().registry.wasm) return 1; // already running single-threaded; cannot swap under live tensors
  const wasmPkg = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as {
    BackendWasm: new (m: EmscriptenModule) => tf.KernelBackend;
    setThreadsCount(n: number): void;
  };
  const { createRequire } = node.module;
  const { dirname, join } = node.path;
  const os = node.os;
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const factory = require(`${pkgDir}/wasm-out/tfjs-backend-wasm-threaded-simd.js`) as Factory;
  const { wasmWorkerContents } = require(`${pkgDir}/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`) as {
    wasmWorkerContents: string;
  };
  const version = (require(`${pkgDir}/package.json`) as { version: string }).version;
  // A per-user cache folder, not a shared temp folder: these files are executed.
  const dir = join(
    process.env.ATTN_CACHE ?? join(os.homedir(), '.cache', 'attn'),
    `tfjs-wasm-threads-${version}`,
  );
  // The worker source is a template literal: its "\n" escapes arrive as real newlines inside string literals.
  const worker = await writeOnce(dir, 'worker.cjs', wasmWorkerContents.replace(/\n/g, '\\n'));
  const main = await writeOnce(dir, 'main.cjs', `var WasmBackendModuleThreadedSimd = ${factory.toString()}`);

  const cpus = os.cpus;
  const cores = Math.min(threads, 8);
  os.cpus = () => Array.from({ length: 2 * cores }, () => cpus()[0]!);
  let module: EmscriptenModule;
  try {
    module = await factory({
      locateFile: (path: string, prefix: string) =>
        path.endsWith('.worker.js')
          ? worker
          : path.endsWith('.wasm')
            ? join(pkgDir, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm')
            : prefix + path,
      mainScriptUrlOrBlob: main,
    });
  } finally {
    os.cpus = cpus;
  }
  letProcessExit(module);
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  wasmPkg.setThreadsCount(cores);
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => new wasmPkg.BackendWasm(module), 2);
  registered = cores;
  return cores;
}

/**
 * Emscripten refs a pthread's worker while its thread runs, and XNNPACK's pool threads run for the life of
 * the process, so Node would never exit after the work is done. The main thread waits for the pool
 * synchronously inside each kernel, so the event loop has nothing to wait for: the workers need not count.
 */
function letProcessExit(module: EmscriptenModule): void {
  const pthread = module.PThread;
  if (!pthread) return;
  const release = (w: NodeWorker) => {
    w.ref = () => {};
    w.unref();
    return w;
  };
  for (const w of [...pthread.unusedWorkers, ...pthread.runningWorkers]) release(w);
  const getNewWorker = pthread.getNewWorker.bind(pthread);
  pthread.getNewWorker = () => release(getNewWorker());
}

/** Writes a file once per tfjs version (atomically: concurrent processes may race to create it). */
async function writeOnce(dir: string, name: string, text: string): Promise<string> {
  const { mkdir, readFile, rename, writeFile } = node.fsp;
  const { join } = node.path;
  const path = join(dir, name);
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  if (existing === text) return path;
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
  return path;
}
