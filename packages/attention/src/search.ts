/**
 * Decoding strategies, independent of any model: `step(prefixes)` returns, for each prefix (a row of token
 * ids), the log-probabilities of every next token. The encoder-decoder Transformer supplies that step.
 */
export type StepFn = (prefixes: number[][]) => Float32Array[] | number[][];

export interface SearchOptions {
  bosId: number;
  eosId: number;
  /** Most tokens to generate after BOS (EOS included). */
  maxNewTokens: number;
}

/** Greedy decoding of `batch` independent rows: the most probable token at each step. BOS/EOS stripped. */
export function greedySearch(step: StepFn, batch: number, opts: SearchOptions): number[][] {
  const prefixes = Array.from({ length: batch }, () => [opts.bosId]);
  const done = new Array<boolean>(batch).fill(false);
  for (let t = 0; t < opts.maxNewTokens && done.includes(false); t++) {
    const logProbs = step(prefixes);
    for (let i = 0; i < batch; i++) {
      // Finished rows keep decoding (the batch stays rectangular) but their new tokens are ignored.
      const next = done[i] ? opts.eosId : argmax(logProbs[i]!);
      prefixes[i]!.push(next);
      if (next === opts.eosId) done[i] = true;
    }
  }
  return prefixes.map((p) => strip(p, opts.eosId));
}

export interface BeamOptions extends SearchOptions {
  beamSize: number;
  /** Scores are sum(log p) / length^lengthPenalty (as HF); 0 = raw sum, which favours short outputs. */
  lengthPenalty?: number;
}

export interface Hypothesis {
  tokens: number[];
  /** Length-normalised log-probability. */
  score: number;
  logProb: number;
}

/**
 * Beam search for one source: keeps the `beamSize` most probable prefixes at every step and returns the
 * finished hypotheses, best first. Stops once `beamSize` hypotheses have ended with EOS, or at maxNewTokens
 * (unfinished beams are then scored as they stand).
 */
export function beamSearch(step: StepFn, opts: BeamOptions): Hypothesis[] {
  const alpha = opts.lengthPenalty ?? 1;
  const score = (logProb: number, length: number) => logProb / Math.max(length, 1) ** alpha;
  let beams = [{ tokens: [opts.bosId], logProb: 0 }];
  const finished: Hypothesis[] = [];
  for (let t = 0; t < opts.maxNewTokens && finished.length < opts.beamSize; t++) {
    const logProbs = step(beams.map((b) => b.tokens));
    const candidates: { tokens: number[]; logProb: number }[] = [];
    beams.forEach((beam, i) => {
      const row = logProbs[i]!;
      for (const id of topK(row, opts.beamSize))
        candidates.push({ tokens: [...beam.tokens, id], logProb: beam.logProb + row[id]! });
    });
    candidates.sort((a, b) => b.logProb - a.logProb);
    beams = [];
    for (const c of candidates) {
      if (beams.length === opts.beamSize) break;
      if (c.tokens[c.tokens.length - 1] === opts.eosId) {
        const tokens = strip(c.tokens, opts.eosId);
        finished.push({ tokens, logProb: c.logProb, score: score(c.logProb, tokens.length + 1) });
      } else beams.push(c);
    }
    if (beams.length === 0) break;
  }
  if (finished.length === 0)
    for (const b of beams)
      finished.push({
        tokens: b.tokens.slice(1),
        logProb: b.logProb,
        score: score(b.logProb, b.tokens.length - 1),
      });
  return finished.sort((a, b) => b.score - a.score);
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

function topK(row: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: row.length }, (_, i) => i)
    .sort((a, b) => row[b]! - row[a]!)
    .slice(0, k);
}

/** Drops the leading BOS and everything from the first EOS on. */
function strip(tokens: number[], eosId: number): number[] {
  const body = tokens.slice(1);
  const end = body.indexOf(eosId);
  return end === -1 ? body : body.slice(0, end);
}
