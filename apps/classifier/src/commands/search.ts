/**
 * `attn search "query" --db DIR`: the documents nearest a query in a store written by `attn embed --db`.
 * The query is encoded with the model, pooling, normalisation and dtype recorded in the table, never with flags,
 * so query and documents always share one vector space.
 */
import { loadEmbedder } from '../engines.js';
import { type Context, ellipsize, UsageError, writeLine } from '../io.js';
import { DTypeMismatchError, tableDtype, VectorStore } from '../store/lance.js';

export interface SearchCommandOptions {
  db?: string;
  top: number;
}

export async function searchCommand(
  query: string,
  opts: SearchCommandOptions,
  ctx: Context,
): Promise<number> {
  if (!opts.db) throw new UsageError('search needs --db DIR: the store written by attn embed --db');
  if (!query.trim()) throw new UsageError('search needs a query text');
  const store = await VectorStore.open(opts.db);
  const { model, pooling, normalize } = store.meta;
  const dtype = tableDtype(store.meta);
  if (ctx.dtypeGiven && ctx.dtype !== dtype) {
    store.close();
    throw new DTypeMismatchError(opts.db, dtype, ctx.dtype);
  }
  const embedder = await loadEmbedder(model, { pooling, normalize, dtype, device: ctx.device });
  try {
    const [vector] = await embedder.embed([query]);
    const hits = await store.nearest(vector, opts.top);
    for (const hit of hits) {
      const score = Math.round(hit.score * 1e6) / 1e6;
      await writeLine(
        ctx.io.stdout,
        ctx.json
          ? JSON.stringify({ id: hit.id, score, text: hit.text })
          : `${score.toFixed(4)}  ${hit.id}  ${ellipsize(hit.text, 80)}`,
      );
    }
    return 0;
  } finally {
    await embedder.dispose();
    store.close();
  }
}
