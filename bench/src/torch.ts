/**
 * PyTorch's training step (bench/src/train_torch.py, Debian's python3-torch) as a peer of attn's: the same
 * shapes, the same step, measured the same way, in a child process of its own.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseResult } from './case.js';
import { pythonWith } from './python.js';
import type { ModelSpec } from './specs.js';

const script = join(fileURLToPath(new URL('.', import.meta.url)), 'train_torch.py');

const torchPython = () => pythonWith('torch', 'apt-get install python3-torch libopenblas0-pthread');

export async function torchTrainStep(
  spec: ModelSpec,
  batch: number,
  seq: number | undefined,
  threads: number,
  budgetMs: number,
  maxIters: number,
): Promise<CaseResult> {
  const args = {
    kind: spec.kind,
    config: spec.config,
    batch,
    seq: seq ?? spec.seq,
    threads,
    budgetMs,
    maxIters,
  };
  const r = await python([script, JSON.stringify(args)]);
  const line = r.out.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.code !== 0 || !line)
    throw new Error(`train_torch.py failed (exit ${r.code}):\n${r.err.slice(-2000)}`);
  return JSON.parse(line.slice(7)) as CaseResult;
}

function python(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    // OpenBLAS (libopenblas0-pthread) sizes its own pool unless told: one thread means one thread.
    const threads = String(JSON.parse(args[1] ?? '{}').threads ?? 1);
    const child = spawn(torchPython(), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', (e) => resolve({ code: -1, out, err: String(e) }));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
