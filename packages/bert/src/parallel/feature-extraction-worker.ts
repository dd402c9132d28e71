/**
 * One worker of a FeatureExtractionPool: its own tfjs backend and its own copy of the model, running the
 * same FeatureExtractionPipeline as the single-thread API, so the vectors are the same.
 */
import { type BackendPreference, initBackend } from '@attn/core-tensor';
import { pipeline } from '../pipelines.js';
import { serveWorker, transferResult } from './pool-core.js';

export interface WorkerInit {
  modelDir: string;
  backend: BackendPreference;
  maxLength?: number;
}
export interface EmbedRequest {
  texts: string[];
  pooling: 'cls' | 'mean';
  normalize: boolean;
}
/** All vectors of the request, concatenated: [texts.length × hidden]. */
export interface EmbedResult {
  data: Float32Array;
  hidden: number;
}

await serveWorker<EmbedRequest, EmbedResult>(async (data) => {
  const init = data as WorkerInit;
  // the pool's parallelism is its workers: one thread each, on the tfjs backend the pool was given
  const { name } = await initBackend(init.backend, { threads: 1 });
  const extractor = await pipeline('feature-extraction', init.modelDir, {
    maxLength: init.maxLength,
    device: name,
  });
  const hidden = extractor.model.config.hidden_size;
  return async (req) => {
    const vectors = await extractor.call(req.texts, { pooling: req.pooling, normalize: req.normalize });
    const out = new Float32Array(vectors.length * hidden);
    for (let i = 0; i < vectors.length; i++) out.set(vectors[i], i * hidden);
    return transferResult({ data: out, hidden }, [out.buffer]);
  };
});
