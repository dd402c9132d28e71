/**
 * PyTorch's training step (bench/src/train_torch.py, Debian's python3-torch) as a peer of attn's: the same
 * shapes, the same step, measured the same way, in a child process of its own.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseResult } from './case.js';
import { runResultProcess } from './prepare.js';
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
  // OpenBLAS (libopenblas0-pthread) sizes its own pool unless told: one thread means one thread.
  const n = String(threads);
  return runResultProcess(
    torchPython(),
    [script, JSON.stringify(args)],
    { OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: n },
    'train_torch.py',
  );
}
