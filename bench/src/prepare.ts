/**
 * The model folders every bench run shares (seeded random weights, saved and exported to ONNX once per
 * config, under bench/.cache) and the child process each case runs in.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CaseResult, CaseSpec } from './case.js';
import { type ModelSpec, SEED } from './specs.js';

const here = fileURLToPath(new URL('.', import.meta.url));
export const cacheDir = process.env.ATTN_BENCH_CACHE ?? join(resolve(here, '..'), '.cache');
const caseFile = join(here, `case.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`);
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Spawns `case.ts` with the same Node flags (tsx loader, conditions) and returns its result. */
export function runCase(spec: CaseSpec): Promise<CaseResult> {
  return runResultProcess(
    process.execPath,
    [...process.execArgv, caseFile, JSON.stringify(spec)],
    { ATTN_BENCH_CACHE: cacheDir },
    `case ${JSON.stringify({ ...spec, spec: undefined })}`,
  );
}

/**
 * Runs a bench child (a case, or a peer's script in another language) and parses the one line it prints as
 * `RESULT {json}`; a non-zero exit, or no such line, is an error that ends with the child's stderr.
 */
export function runResultProcess<T = CaseResult>(
  command: string,
  args: string[],
  env: Record<string, string>,
  what: string,
): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', (e) => reject(new Error(`${what} could not start: ${e.message}`)));
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolvePromise(JSON.parse(line.slice(7)) as T);
      else reject(new Error(`${what} failed (exit ${code}):\n${err.slice(-3000)}`));
    });
  });
}

/** Builds (or reuses) the model folder: config.json + model.safetensors + onnx/model.onnx. */
export async function prepareFolder(spec: ModelSpec): Promise<string> {
  const hash = createHash('sha256')
    .update(JSON.stringify({ c: spec.config, SEED }))
    .digest('hex')
    .slice(0, 10);
  const dir = join(cacheDir, 'models', `${spec.name}-${hash}`);
  if (existsSync(join(dir, 'onnx', 'model.onnx')) && existsSync(join(dir, 'model.safetensors'))) return dir;
  log(`  preparing ${spec.name} (seeded random weights, save + ONNX export)…`);
  const r = await runCase({ type: 'prepare', spec, dir, seed: SEED });
  log(
    `  prepared in ${(r.loadMs / 1000).toFixed(1)} s, ONNX ${((r.info.onnxBytes as number) / 1e6).toFixed(0)} MB`,
  );
  return dir;
}
