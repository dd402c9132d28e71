/**
 * Encoding through the job queue, end to end with real parts: Debian's redis-server (started here on a free
 * port of 127.0.0.1), three `attn worker` processes, one of them killed with SIGKILL in the middle of a chunk,
 * and LanceDB tables compared with a single-process `attn embed --db` run.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fixturePath, haveFixtures } from '@attn/core-tensor/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputChangedError, planChunks, readChunk } from '../src/queue/chunks.js';
import { connectRedis, doneKey, jobId, openQueue } from '../src/queue/jobs.js';
import { VectorStore } from '../src/store/lance.js';
import { expectClose, runCli } from './helpers.js';

const haveRedis = (() => {
  try {
    execFileSync('redis-server', ['--version']);
    return true;
  } catch {
    return false;
  }
})();

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

const CLI = resolve(import.meta.dirname, '../src/cli.ts');
// tsx is the app's dev dependency, so `--import tsx` resolves from the app's folder
const APP = resolve(import.meta.dirname, '..');

/** `attn worker` as a real process (SIGKILL must hit a process, not a thread), run from the TypeScript sources. */
function startWorker(url: string): { proc: ChildProcess; log: string[] } {
  const proc = spawn(
    process.execPath,
    [
      '--conditions=@attn/source',
      '--import',
      'tsx',
      CLI,
      '--device',
      'cpu',
      'worker',
      '--queue',
      url,
      '--stall-ms',
      '2000',
    ],
    { cwd: APP, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const log: string[] = [];
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => log.push(...d.split('\n').filter(Boolean)));
  return { proc, log };
}

describe.skipIf(!haveFixtures('queue tests') || !haveRedis)(
  'attn embed --queue + attn worker on Redis',
  () => {
    const bert = fixturePath('bert-tiny-random');
    const tmp = mkdtempSync(join(tmpdir(), 'attn-queue-'));
    const input = join(tmp, 'docs.txt');
    let lines: string[];
    let redis: ChildProcess;
    let url: string;
    const workers: { proc: ChildProcess; log: string[] }[] = [];

    beforeAll(async () => {
      // 240 distinct SST-2 sentences, so each one's own vector is its unique nearest neighbour
      lines = readFileSync(fixturePath('data', 'sst2', 'glue_sst2_dev.tsv'), 'utf8')
        .split('\n')
        .slice(1)
        .map((l) => l.split('\t')[0]!.trim())
        .filter((l, i, all) => l && all.indexOf(l) === i)
        .slice(0, 240);
      writeFileSync(input, `${lines.join('\n')}\n`);
      const port = await freePort();
      url = `redis://127.0.0.1:${port}`;
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      for (let i = 0; ; i++) {
        try {
          (await connectRedis(url, 500)).disconnect();
          break;
        } catch (e) {
          if (i > 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    });
    afterAll(() => {
      for (const w of workers) w.proc.kill('SIGKILL');
      redis?.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    });

    it('three workers, one killed mid-chunk: every line once, vectors as one process makes them, searchable', async () => {
      // the workers start (node, tsx, tfjs) while this process makes the reference table
      for (let i = 0; i < 3; i++) workers.push(startWorker(url));
      const single = join(tmp, 'single.lance');
      const one = await runCli([
        '--device',
        'cpu',
        'embed',
        '--model',
        bert,
        '--input',
        input,
        '--db',
        single,
      ]);
      expect(one.stderr).toBe('');
      expect(one.code).toBe(0);
      // The first worker to start a chunk is killed at once: its model is still loading, so the chunk is half-done.
      let victim: { pid: number; job: string } | undefined;
      const watch = setInterval(() => {
        if (victim) return;
        for (const w of workers) {
          const started = w.log.find((l) => l.includes(' started '));
          if (started) {
            victim = { pid: w.proc.pid!, job: started.split(' ')[4]! };
            w.proc.kill('SIGKILL');
            return;
          }
        }
      }, 5);

      const db = join(tmp, 'queued.lance');
      const args = [
        '--device',
        'cpu',
        'embed',
        '--model',
        bert,
        '--input',
        input,
        '--db',
        db,
        '--queue',
        url,
      ];
      // A worker that dies on its own (not the victim) would leave the producer waiting: fail with its log.
      const logs = () => workers.map((w) => `worker ${w.proc.pid}:\n  ${w.log.join('\n  ')}`).join('\n');
      const crashed = new Promise<never>((_, reject) => {
        setTimeout(() => reject(new Error(`queue run not finished after 90 s\n${logs()}`)), 90_000).unref();
        for (const w of workers)
          w.proc.once('exit', (code, signal) => {
            if (signal !== 'SIGKILL' && signal !== 'SIGTERM')
              reject(new Error(`worker ${w.proc.pid} exited (${code ?? signal})\n${logs()}`));
          });
      });
      const produced = await Promise.race([runCli([...args, '--chunk-lines', '20']), crashed]);
      clearInterval(watch);
      expect(produced.code, produced.stderr).toBe(0);
      expect(produced.stderr).toContain('12/12 chunks embedded');
      expect(victim).toBeDefined();

      // The victim never finished its chunk; another worker did (the stalled check handed it over).
      const client = await connectRedis(url);
      const done = await client.hgetall(doneKey(produced.stderr.match(/run (\w+)/)![1]!));
      expect(Object.keys(done)).toHaveLength(12);
      const [, , finisher] = done[victim!.job]!.split(' ');
      expect(Number(finisher)).not.toBe(victim!.pid);
      expect(workers.some((w) => w.proc.pid === Number(finisher))).toBe(true);

      // Every input line exactly once, and the same vectors as the single process (to 1e-5).
      const [want, got] = [await VectorStore.open(single), await VectorStore.open(db)];
      const wantRows = new Map((await want.rows()).map((r) => [r.id, r]));
      const gotRows = await got.rows();
      expect(gotRows).toHaveLength(lines.length);
      expect(new Set(gotRows.map((r) => r.id)).size).toBe(lines.length);
      for (const r of gotRows) {
        const w = wantRows.get(r.id)!;
        expect(r.text).toBe(lines[Number(r.id) - 1]);
        expectClose(Array.from(r.vector), Array.from(w.vector), 1e-5, `vector of line ${r.id}`);
      }

      // Enqueued again: the same job ids, so BullMQ adds no job and the table is unchanged. (Counting
      // "started" lines would not do: a worker starved of CPU can lose its lock after finishing, and the
      // stalled check then reruns that chunk, which the merge on id makes harmless.)
      // The jobs are looked up by their deterministic ids once none is waiting or running (a rerun may still
      // be going). A job can be gone: one whose runs lost the lock more than maxStalledCount times is failed
      // by the stalled check and removed (removeOnFail) although its chunk is done, so a count of the queue's
      // jobs may be 11 (issue #18). Enqueueing again re-adds only such a job, by design: a removed chunk is retried.
      const run = produced.stderr.match(/run (\w+)/)![1]!;
      const ids = (await planChunks(input, 20)).chunks.map((c) => jobId(run, c));
      expect(ids).toHaveLength(12);
      const queue = openQueue(url);
      const settled = async () => {
        for (let i = 0; ; i++) {
          const busy = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
          if (Object.values(busy).every((n) => n === 0)) break;
          if (i > 600) throw new Error(`queue not idle after 60 s: ${JSON.stringify(busy)}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        const jobs = new Map<string, string>();
        for (const id of ids) {
          const job = await queue.getJob(id);
          // the job's creation time tells the same job from one added again under its id
          if (job) jobs.set(id, `${await job.getState()} ${job.timestamp}`);
        }
        // no job beyond the run's own ids
        const all = Object.values(await queue.getJobCounts()).reduce((a, b) => a + b, 0);
        expect(all).toBe(jobs.size);
        return jobs;
      };
      const before = await settled();
      for (const [id, state] of before) expect(state, id).toMatch(/^completed /);
      for (const id of ids) expect(done[id], `chunk ${id} done`).toBeDefined();
      const again = await Promise.race([runCli([...args, '--chunk-lines', '20']), crashed]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain('12/12 chunks embedded');
      const after = await settled();
      for (const [id, state] of before) expect(after.get(id), `job ${id} not added again`).toBe(state);
      for (const id of after.keys()) if (!before.has(id)) expect(after.get(id)).toMatch(/^completed /);
      await queue.close();
      expect(await got.count()).toBe(lines.length);
      want.close();
      got.close();
      client.disconnect();

      // A document is its own nearest neighbour.
      const hit = await runCli(['--json', '--device', 'cpu', 'search', lines[41]!, '--db', db, '--top', '1']);
      expect(hit.code, hit.stderr).toBe(0);
      const [top] = hit.json() as { id: string; score: number; text: string }[];
      expect(top).toMatchObject({ id: '42', text: lines[41] });
      expect(top!.score).toBeCloseTo(1, 5);
    }, 240_000);

    it('typed errors: unreachable Redis, no --db, an input changed since it was enqueued', async () => {
      const closed = `redis://127.0.0.1:${await freePort()}`;
      const down = await runCli(['embed', '--input', input, '--db', join(tmp, 'x'), '--queue', closed]);
      expect(down.code).toBe(1);
      expect(down.stderr).toContain(`QueueUnreachableError: --queue ${closed}: Redis is unreachable`);

      const noDb = await runCli(['embed', '--input', input, '--queue', url]);
      expect(noDb.code).toBe(2);
      expect(noDb.stderr).toContain('--queue needs --db DIR');

      const file = join(tmp, 'changing.txt');
      writeFileSync(file, 'alpha\nbeta\ngamma\ndelta\n');
      const { file: id, chunks } = await planChunks(file, 2);
      expect(chunks.map((c) => [c.start, c.end, c.firstLine, c.lines])).toEqual([
        [0, 11, 1, 2],
        [11, 23, 3, 2],
      ]);
      writeFileSync(file, 'alpha\nbeta\nGAMMA\ndelta\n'); // same size, other bytes
      await expect(readChunk(id, chunks[1]!)).rejects.toThrow(InputChangedError);
      await expect(readChunk(id, chunks[1]!)).rejects.toThrow(`${id.path} bytes 11-23: changed`);
      writeFileSync(file, 'alpha\nbeta\n');
      await expect(readChunk(id, chunks[0]!)).rejects.toThrow(
        `${id.path}: changed since it was enqueued (size 23 → 11)`,
      );
    });

    it('a chunk whose lines changed after it was enqueued: the worker refuses it, the producer names it and exits 1', async () => {
      await Promise.all(
        workers.map((w) => {
          const exited = w.proc.exitCode !== null || w.proc.signalCode !== null;
          w.proc.kill('SIGTERM');
          return exited ? undefined : new Promise((r) => w.proc.once('exit', r));
        }),
      );
      const file = join(tmp, 'later.txt');
      writeFileSync(file, 'one\ntwo\nthree\nfour\nfive\nsix\n');
      const producing = runCli([
        ...['--device', 'cpu', 'embed', '--model', bert, '--input', file],
        ...['--db', join(tmp, 'later.lance'), '--queue', url, '--chunk-lines', '3'],
      ]);
      // no worker runs yet: wait for both chunk jobs, then change the second chunk's bytes (not the size)
      const queue = openQueue(url);
      while ((await queue.getWaitingCount()) < 2) await new Promise((r) => setTimeout(r, 50));
      await queue.close();
      writeFileSync(file, 'one\ntwo\nthree\nFOUR\nfive\nsix\n');
      const worker = startWorker(url);
      workers.push(worker);
      const produced = await producing;
      expect(produced.code, produced.stderr).toBe(1);
      expect(produced.stderr).toMatch(
        /chunk \w+-14-28: InputChangedError: .*later\.txt bytes 14-28: changed since they were enqueued/,
      );
      expect(produced.stderr).toContain('1/2 chunks embedded, 1 failed');
    }, 120_000);
  },
);
