/**
 * The vector store: an embedded LanceDB database (a folder, no server) with one table `embeddings`
 * (`id`, `text`, `vector`). How the vectors were made (model, pooling, normalisation) is kept in the table's
 * schema metadata, so `attn search` encodes a query exactly as the documents were encoded.
 * Writes merge on `id`: writing a document twice (a queue chunk that ran twice) leaves one row. Merges into a
 * local folder take turns under a lockfile there (see lock.ts), across processes and connections.
 */
import type { VectorRecord, VectorSink } from '@attn/bert';
import type { DType } from '@attn/core-tensor';
import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Schema, Utf8 } from 'apache-arrow';
import { isLocalPath, withWriteLock } from './lock.js';

export const TABLE = 'embeddings';
const META_KEY = 'attn.embedding';

/** How the table's vectors were computed; a query must be encoded the same way. */
export interface EmbeddingMeta {
  model: string;
  pooling: 'mean' | 'cls';
  normalize: boolean;
  /** The weight precision the vectors were made at (--dtype); tables written before it existed are fp32. */
  dtype?: DType;
  dim: number;
}

/** The precision a table's vectors were made at. */
export const tableDtype = (meta: Pick<EmbeddingMeta, 'dtype'>): DType => meta.dtype ?? 'fp32';

/**
 * A --dtype given beside a table made at another precision: its queries or new rows would be made by other
 * weights than the table's (q8 vectors sit about 1e-2 from fp32 ones), so the call is refused, naming both.
 */
export class DTypeMismatchError extends Error {
  override readonly name = 'DTypeMismatchError';
  constructor(dir: string, table: DType, given: DType) {
    super(
      `--dtype ${given}: ${dir}: table "${TABLE}" holds vectors made at dtype ${table}; leave --dtype out (the table's is used) or pass --dtype ${table}`,
    );
  }
}

export class VectorStoreError extends Error {
  override readonly name = 'VectorStoreError';
}

function schemaFor(meta: EmbeddingMeta): Schema {
  return new Schema(
    [
      new Field('id', new Utf8(), false),
      new Field('text', new Utf8(), false),
      new Field('vector', new FixedSizeList(meta.dim, new Field('item', new Float32(), true)), false),
    ],
    new Map([[META_KEY, JSON.stringify(meta)]]),
  );
}

function readMeta(schema: Schema, dir: string): EmbeddingMeta {
  const raw = schema.metadata.get(META_KEY);
  if (!raw)
    throw new VectorStoreError(
      `${dir}: table "${TABLE}" was not written by attn embed (no ${META_KEY} metadata)`,
    );
  return JSON.parse(raw) as EmbeddingMeta;
}

function sameEncoding(a: EmbeddingMeta, b: EmbeddingMeta): boolean {
  return (
    a.model === b.model &&
    a.pooling === b.pooling &&
    a.normalize === b.normalize &&
    tableDtype(a) === tableDtype(b) &&
    a.dim === b.dim
  );
}

/**
 * Lance commits are optimistic: two processes merging into one table at once can see a commit conflict.
 * The merge is idempotent (keyed on id), so running it again is always safe.
 */
function isConflict(e: unknown): boolean {
  return /conflict|concurrent|retryable|commit/i.test(String((e as Error)?.message ?? e));
}

async function withConflictRetry<T>(fn: () => Promise<T>, attempts = 12): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !isConflict(e)) throw e;
      await new Promise((r) => setTimeout(r, Math.min(2000, 25 * 2 ** i) * (0.5 + Math.random())));
    }
  }
}

export class VectorStore {
  private constructor(
    readonly dir: string,
    readonly meta: EmbeddingMeta,
    private readonly table: lancedb.Table,
    private readonly db: lancedb.Connection,
  ) {}

  /**
   * Opens `dir`'s table, creating it for `meta` when absent. A table made with another model or pooling is
   * refused: its vectors and new ones would not be comparable.
   */
  static async create(dir: string, meta: EmbeddingMeta): Promise<VectorStore> {
    const db = await lancedb.connect(dir);
    const openOrCreate = async () => {
      if ((await db.tableNames()).includes(TABLE)) return db.openTable(TABLE);
      // Two producers or workers may both find no table: existOk makes the loser open the winner's.
      return withConflictRetry(() => db.createEmptyTable(TABLE, schemaFor(meta), { existOk: true }));
    };
    // Under the write lock: a table folder another writer is still creating is listed before it can be opened.
    const table = isLocalPath(dir) ? await withWriteLock(dir, openOrCreate) : await openOrCreate();
    const have = readMeta(await table.schema(), dir);
    if (!sameEncoding(have, meta))
      throw new VectorStoreError(
        `${dir}: table "${TABLE}" holds ${JSON.stringify(have)} vectors; this run makes ${JSON.stringify(meta)}`,
      );
    return new VectorStore(dir, have, table, db);
  }

  /** Opens an existing table (for search); a folder without one is a typed error naming it. */
  static async open(dir: string): Promise<VectorStore> {
    const db = await lancedb.connect(dir);
    if (!(await db.tableNames()).includes(TABLE))
      throw new VectorStoreError(`${dir}: no "${TABLE}" table (write one with attn embed --db ${dir})`);
    const table = await db.openTable(TABLE);
    return new VectorStore(dir, readMeta(await table.schema(), dir), table, db);
  }

  /** Inserts or replaces rows by id. */
  async upsert(records: VectorRecord[]): Promise<void> {
    if (records.length === 0) return;
    const { dim } = this.meta;
    const flat = new Float32Array(records.length * dim);
    for (const [i, r] of records.entries()) {
      if (r.vector.length !== dim)
        throw new VectorStoreError(
          `${this.dir}: vector for id ${r.id} has ${r.vector.length} values, table has ${dim}`,
        );
      flat.set(r.vector, i * dim);
    }
    // lancedb's own makeArrowTable: it builds with the arrow module lancedb loads (CommonJS), while this
    // file's `apache-arrow` import is the ESM build; a table of the other build's classes merges as empty.
    const data = lancedb.makeArrowTable(
      records.map((r, i) => ({
        id: String(r.id),
        text: r.text,
        vector: flat.subarray(i * dim, (i + 1) * dim),
      })),
      { schema: schemaFor(this.meta) },
    );
    const merge = () =>
      withConflictRetry(async () => {
        // This handle may still see an older version than another connection's last commit; a merge planned
        // on it would insert ids that commit added.
        await this.table.checkoutLatest();
        await this.table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
      });
    // Concurrent merges duplicate rows even with Lance's conflict handling, so writers of one folder take
    // turns. An object store has no exclusive create to lock with; there the merges run unguarded.
    if (isLocalPath(this.dir)) await withWriteLock(this.dir, merge);
    else await merge();
  }

  async count(): Promise<number> {
    await this.table.checkoutLatest();
    return this.table.countRows();
  }

  /** Every row, for checks and exports (small tables only). */
  async rows(): Promise<{ id: string; text: string; vector: Float32Array }[]> {
    await this.table.checkoutLatest();
    const rows = await this.table.query().select(['id', 'text', 'vector']).toArray();
    return rows.map((r) => ({ id: r.id, text: r.text, vector: Float32Array.from(r.vector) }));
  }

  /** The `k` rows nearest `vector` by cosine distance; score = cosine similarity (1 − distance). */
  async nearest(vector: Float32Array, k: number): Promise<{ id: string; text: string; score: number }[]> {
    await this.table.checkoutLatest();
    const rows = await this.table
      .vectorSearch(Array.from(vector))
      .distanceType('cosine')
      .select(['id', 'text', '_distance'])
      .limit(k)
      .toArray();
    return rows.map((r) => ({ id: r.id, text: r.text, score: 1 - r._distance }));
  }

  close(): void {
    this.table.close();
    this.db.close();
  }
}

/**
 * A VectorSink over a store folder: each batch is one idempotent merge. The table is opened (or created)
 * on the first batch, when the vectors' dimension is known.
 */
export class LanceSink implements VectorSink {
  private store?: Promise<VectorStore>;
  constructor(
    readonly dir: string,
    private readonly encoding: Omit<EmbeddingMeta, 'dim'>,
  ) {}

  async write(records: VectorRecord[]): Promise<void> {
    if (records.length === 0) return;
    this.store ??= VectorStore.create(this.dir, { ...this.encoding, dim: records[0].vector.length });
    await (await this.store).upsert(records);
  }

  async close(): Promise<void> {
    (await this.store)?.close();
  }
}
