#!/usr/bin/env node
/**
 * `attn`: the command line. Commander parses; each command lives in commands/*.ts and returns an exit code.
 * Global options: --device (auto | native | webgpu | wasm | cpu), --dtype (fp32 | fp16 | q8) and --json (one JSON object per input per line).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BackendInfo, DEVICES, type Device, type DType } from '@attn/core-tensor';
import { WEIGHT_DTYPES } from '@attn/core-tensor/onnx';
import { Command, InvalidArgumentError, Option } from 'commander';
import { selectBackend } from './backend.js';
import { attentionCommand } from './commands/attention.js';
import { classifyImageCommand } from './commands/classify-image.js';
import { classifyTextCommand } from './commands/classify-text.js';
import { demoCommand } from './commands/demo.js';
import { embedCommand } from './commands/embed.js';
import { exportCommand } from './commands/export.js';
import { fillMaskCommand } from './commands/fill-mask.js';
import { searchCommand } from './commands/search.js';
import { serveCommand } from './commands/serve.js';
import { tokenizeCommand } from './commands/tokenize.js';
import { registerTrainCommands } from './commands/train.js';
import { registerWord2VecCommands } from './commands/word2vec.js';
import { workerCommand } from './commands/worker.js';
import { type Context, errorLine, type Io, processIo, UsageError } from './io.js';
import { DEFAULT_MAX_LINE_LENGTH } from './lines.js';
import { BUILTIN_MODELS } from './models.js';

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

// src/cli.ts (tsx) and dist/cli.js (built, installed) both sit one folder below the package.json that npm published.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The cap on one input line, shared by the commands that read lines. */
function maxLineLengthOption(): Option {
  return new Option(
    '--max-line-length <chars>',
    'longest input line accepted (an error names the line beyond it)',
  )
    .argParser(positiveInt('--max-line-length'))
    .default(DEFAULT_MAX_LINE_LENGTH);
}

const modelHelp = `model: a built-in name (${BUILTIN_MODELS.map((m) => m.name).join(', ')}), a Hugging Face model folder, or a hub id`;

/**
 * Builds the program around injected streams. `exit` receives the command's exit code; commander's own
 * usage errors throw (exitOverride) so tests can run the program in-process.
 */
export function buildProgram(
  io: Io = processIo,
  exit: (code: number) => void = (c) => {
    process.exitCode = c;
  },
): Command {
  const program = new Command('attn')
    .description(
      'Transformers (BERT, ViT) on TensorFlow.js: classify images and texts, embed, tokenize, look at attention, train, serve.',
    )
    .addOption(
      new Option(
        '--device <name>',
        'where models run: auto (the fastest here: native when onnxruntime-node is installed, else webgpu on a real GPU, else wasm on every core), native, webgpu, wasm, cpu',
      )
        .choices(DEVICES)
        .default('auto'),
    )
    .addOption(
      new Option(
        '--dtype <precision>',
        'weight precision: fp32, fp16 (half the download; float32 compute), q8 (int8 weights: a quarter; int8 compute on native, dequantised on tfjs)',
      ).choices(WEIGHT_DTYPES),
    )
    .addOption(new Option('--backend <name>', 'older spelling of --device').choices(DEVICES).hideHelp())
    .addOption(
      new Option('--threads <n>', 'deprecated: the device uses every core by itself')
        .argParser(positiveInt('--threads'))
        .hideHelp(),
    )
    .option('--json', 'one JSON object per input per line', false)
    .option(
      '--max-model-bytes <n>',
      'refuse a model whose config.json describes more float32 weights than this (default $ATTN_MAX_MODEL_BYTES or 4 GiB)',
      positiveInt('--max-model-bytes'),
    )
    .version(version, '-v, --version', 'print the version of attn')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .showHelpAfterError('(run attn --help for usage)');

  let backend: Promise<BackendInfo> | undefined;
  const context = (): Context => {
    const g = program.opts<{
      device: Device;
      dtype?: DType;
      backend?: Device;
      json: boolean;
      threads?: number;
      maxModelBytes?: number;
    }>();
    // Through the environment, so every model load of this process (and any worker it starts) sees it.
    if (g.maxModelBytes) process.env.ATTN_MAX_MODEL_BYTES = String(g.maxModelBytes);
    if (g.threads)
      deprecated(
        '--threads',
        'the device uses every core by itself; for the wasm backend, set ATTN_WASM_THREADS',
      );
    const device = g.device !== 'auto' ? g.device : (g.backend ?? 'auto');
    const opts = g.threads ? { threads: g.threads } : {};
    // Training, export and the other tfjs-only steps take the tfjs side of the device ('native' is inference only).
    const tfjs = device === 'native' ? 'auto' : device;
    return {
      io,
      json: g.json,
      device,
      dtype: g.dtype ?? 'fp32',
      dtypeGiven: g.dtype !== undefined,
      backend: () => (backend ??= selectBackend(tfjs, opts)),
    };
  };
  /** Once per flag and process: the old flag still works, and says what replaces it. */
  const noticed = new Set<string>();
  const deprecated = (flag: string, instead: string) => {
    if (noticed.has(flag)) return;
    noticed.add(flag);
    io.stderr.write(`attn: ${flag} is deprecated: ${instead}\n`);
  };
  /** Runs a command; any error it throws becomes one line on stderr and exit code 1 (2 for usage). */
  const run =
    <A extends unknown[]>(fn: (ctx: Context, ...args: A) => Promise<number>) =>
    async (...args: A): Promise<void> => {
      try {
        exit(await fn(context(), ...args));
      } catch (e) {
        io.stderr.write(`attn: ${errorLine(e)}\n`);
        exit(e instanceof UsageError ? 2 : 1);
      }
    };

  program
    .command('demo')
    .description('classify the bundled sample images and texts with the built-in models (offline)')
    .option('--top <k>', 'labels per input', positiveInt('--top'), 3)
    .action(run((ctx, o) => demoCommand(o, ctx)));

  program
    .command('classify-image')
    .description('top-K labels for each image file')
    .argument('<files...>', 'image files (PNG, JPEG, WebP, GIF)')
    .option('--model <model>', modelHelp)
    .option('--top <k>', 'labels per image', positiveInt('--top'), 5)
    .option('--batch-size <n>', 'images per forward pass', positiveInt('--batch-size'), 8)
    .action(run((ctx, files: string[], o) => classifyImageCommand(files, o, ctx)));

  program
    .command('classify-text')
    .description('labels for each text (one per line of stdin when no text is given)')
    .argument('[texts...]', 'texts to classify')
    .option('--model <model>', modelHelp)
    .option('--top <k>', 'labels per text', positiveInt('--top'), 2)
    .option('--batch-size <n>', 'texts per forward pass', positiveInt('--batch-size'), 16)
    .addOption(maxLineLengthOption())
    .action(run((ctx, texts: string[], o) => classifyTextCommand(texts, o, ctx)));

  program
    .command('fill-mask')
    .description('the most likely tokens for [MASK]')
    .argument('<text>', 'a text containing [MASK]')
    .option('--model <model>', modelHelp)
    .option('--top <k>', 'tokens to show', positiveInt('--top'), 5)
    .action(run((ctx, text: string, o) => fillMaskCommand(text, o, ctx)));

  program
    .command('embed')
    .description(
      'JSONL embeddings {"id","embedding"} for lines (text or {"id","text"} JSONL) from stdin or --input',
    )
    .option('--model <model>', modelHelp)
    .option('--input <file>', 'read this file instead of stdin')
    .addOption(
      new Option('--pooling <how>', 'how token vectors become one').choices(['mean', 'cls']).default('mean'),
    )
    .option('--normalize', 'L2-normalise each embedding', false)
    .option('--batch-size <n>', 'lines per forward pass', positiveInt('--batch-size'), 32)
    .addOption(
      new Option('--runtime <name>', 'deprecated: use --device (onnx is --device native)')
        .choices(['tfjs', 'onnx'])
        .hideHelp(),
    )
    .addOption(
      new Option('--workers <n>', 'deprecated: the device uses every core by itself')
        .argParser(positiveInt('--workers'))
        .hideHelp(),
    )
    .addOption(maxLineLengthOption())
    .option(
      '--db <dir>',
      'write into this LanceDB folder (table "embeddings": id, text, vector) instead of JSONL',
    )
    .option(
      '--queue <url>',
      'redis://HOST:PORT[/DB]: enqueue --input as chunk jobs for attn worker (needs --db)',
    )
    .option('--chunk-lines <n>', 'with --queue: lines per chunk job', positiveInt('--chunk-lines'), 1000)
    .action(
      run((ctx, o) => {
        if (o.workers) deprecated('--workers', 'the device uses every core by itself (--device)');
        if (o.runtime) deprecated('--runtime', `use --device${o.runtime === 'onnx' ? ' native' : ''}`);
        const device = o.runtime === 'onnx' && ctx.device === 'auto' ? 'native' : ctx.device;
        return embedCommand({ ...o, runtime: undefined, workers: undefined, device }, ctx);
      }),
    );

  program
    .command('search')
    .description('the documents of a store (attn embed --db) nearest <query>, with cosine scores')
    .argument('<query>', 'text to search for')
    .option('--db <dir>', 'the LanceDB folder written by attn embed --db')
    .option('--top <k>', 'documents to show', positiveInt('--top'), 5)
    .action(run((ctx, query: string, o) => searchCommand(query, o, ctx)));

  program
    .command('worker')
    .description('embed chunk jobs from a Redis queue (attn embed --queue) into their store, until stopped')
    .requiredOption('--queue <url>', 'redis://HOST:PORT[/DB]')
    .option('--db <dir>', "store folder on this machine (default: the producer's --db)")
    .option(
      '--stall-ms <ms>',
      "job lock and stalled-check interval: how soon a dead worker's chunk goes to another",
      positiveInt('--stall-ms'),
      30_000,
    )
    .option('--max-jobs <n>', 'exit after this many chunks', positiveInt('--max-jobs'))
    .action(run((ctx, o) => workerCommand(o, ctx)));

  program
    .command('tokenize')
    .description("print the model's WordPiece tokens and ids")
    .argument('<text>')
    .option('--model <model>', modelHelp)
    .action(run((ctx, text: string, o) => tokenizeCommand(text, o, ctx)));

  program
    .command('attention')
    .description(
      'draw what the model attends to: ViT rollout over an image, or a token × token heatmap for a text',
    )
    .argument('<input>', 'an image file, or a text')
    .requiredOption('--out <file.png>', 'where to write the PNG')
    .option('--model <model>', modelHelp)
    .option('--layer <n>', 'text: which layer (0-based; default the last)', (v) => Number.parseInt(v, 10))
    .option('--text', 'treat <input> as text even if a file of that name exists', false)
    .action(run((ctx, input: string, o) => attentionCommand(input, o, ctx)));

  registerTrainCommands(program, run);
  registerWord2VecCommands(program, run);

  program
    .command('export')
    .description(
      "export a model, where a package offers it (attn export onnx --model DIR --out FILE.onnx, or --out DIR for transformers.js' folder at --dtype)",
    )
    .argument('<format>', 'onnx')
    .requiredOption('--model <model>', modelHelp)
    .requiredOption(
      '--out <file>',
      'FILE.onnx, or a folder: config.json, the --dtype weights file, tokenizer files, onnx/model{,_fp16,_quantized}.onnx',
    )
    .action(run((ctx, format: string, o) => exportCommand(format, o, ctx)));

  program
    .command('serve')
    .description(
      'HTTP API (/v1/classify-image, /v1/classify-text, /v1/embed, /healthz) and the web page at /',
    )
    .option('--port <p>', 'port (0 picks a free one)', (v) => Number.parseInt(v, 10), 8080)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--image-model <model>', `image ${modelHelp}`)
    .option('--text-model <model>', `text ${modelHelp}`)
    .option('--max-batch <n>', 'largest batch per forward pass', positiveInt('--max-batch'), 16)
    .option('--window-ms <ms>', 'how long a request waits for others to batch with', (v) => Number(v), 5)
    .option('--max-queue <n>', 'waiting requests per model before 429', positiveInt('--max-queue'), 256)
    .option(
      '--max-body-bytes <n>',
      'request size limit (413 beyond)',
      positiveInt('--max-body-bytes'),
      10 * 1024 * 1024,
    )
    .option(
      '--max-connections <n>',
      'open connections beyond which new ones are dropped',
      positiveInt('--max-connections'),
      1024,
    )
    .option(
      '--allowed-host <name>',
      'a host name the Host header may carry besides localhost and IP addresses (repeatable; against DNS rebinding)',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option(
      '--cors <origin>',
      'an origin (e.g. https://app.example) whose pages may call the API, with CORS headers (repeatable)',
      (v: string, all: string[] = []) => [...all, v],
    )
    .action(run((ctx, o) => serveCommand({ ...o, allowedHosts: o.allowedHost }, ctx)));

  return program;
}

/** Entry point of the `attn` binary. */
export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    // commander already printed its message (usage error, --help, --version): keep its exit code.
    const code = (e as { exitCode?: number }).exitCode;
    process.exitCode = typeof code === 'number' ? code : 1;
  }
}

const invoked =
  process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (invoked) await main();
