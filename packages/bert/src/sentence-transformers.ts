import { isModelUrl, PipelineError, readModelText } from '@attn/core-tensor';
import { node } from '@attn/core-tensor/platform';

export type Pooling = 'none' | 'mean' | 'cls' | 'max';

/** What a sentence-transformers folder asks feature extraction to do, read from its module files. */
export interface SentenceTransformersConfig {
  /** Folder of the Transformer module: the model folder itself, or a subfolder such as `0_Transformer`. */
  modelDir: string;
  pooling: Exclude<Pooling, 'none'>;
  normalize: boolean;
  /** sentence_bert_config.json max_seq_length, where given. */
  maxLength?: number;
}

const ST = 'sentence_transformers.models.';

/**
 * Reads `modules.json` and `1_Pooling/config.json` (or wherever modules.json puts the Pooling module) the way
 * sentence-transformers composes them: Transformer → Pooling → optional Normalize. Returns undefined for a
 * plain model folder. A module this pipeline cannot reproduce (Dense, weighted-mean pooling, …) is an
 * error naming the file, not a vector that silently differs from sentence-transformers'.
 */
export async function readSentenceTransformersConfig(
  dir: string,
): Promise<SentenceTransformersConfig | undefined> {
  // A folder URL (always, in a page) joins with '/', a local folder with the platform's separator.
  const byUrl = isModelUrl(dir);
  const join = (...parts: string[]) =>
    byUrl ? parts.filter((p) => p !== '').join('/') : node.path.join(...parts);
  const read = async (file: string): Promise<unknown> => {
    const text = await readModelText(dir, file);
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new PipelineError('BAD_OPTION', `${join(dir, file)}: not valid JSON (${(e as Error).message})`);
    }
  };
  const where = join(dir, 'modules.json');
  const modules = await read('modules.json');
  if (modules === undefined) return undefined;
  const bad = (why: string) => new PipelineError('BAD_OPTION', `${where}: ${why}`);
  if (!Array.isArray(modules)) throw bad('expected a list of modules');
  let modelDir: string | undefined;
  let pooling: SentenceTransformersConfig['pooling'] | undefined;
  let normalize = false;
  for (const [i, m] of modules.entries()) {
    const { type, path } = (m ?? {}) as { type?: unknown; path?: unknown };
    if (typeof type !== 'string' || typeof path !== 'string')
      throw bad(`module ${i} needs string "type" and "path"`);
    const kind = type.startsWith(ST) ? type.slice(ST.length) : type;
    if (kind === 'Transformer') modelDir = path ? join(dir, path) : dir;
    else if (kind === 'Pooling')
      pooling = await readPooling(join(dir, path, 'config.json'), (f) => read(join(path, f)));
    else if (kind === 'Normalize') normalize = true;
    else
      throw bad(
        `module ${i} is ${type}, which feature extraction does not implement (Transformer, Pooling, Normalize)`,
      );
  }
  if (!modelDir) throw bad('no sentence_transformers.models.Transformer module');
  if (!pooling) throw bad('no sentence_transformers.models.Pooling module');
  const stConfig = (await read('sentence_bert_config.json')) as { max_seq_length?: unknown } | undefined;
  const maxLength = typeof stConfig?.max_seq_length === 'number' ? stConfig.max_seq_length : undefined;
  return { modelDir, pooling, normalize, ...(maxLength && { maxLength }) };
}

async function readPooling(
  where: string,
  read: (file: string) => Promise<unknown>,
): Promise<SentenceTransformersConfig['pooling']> {
  const cfg = (await read('config.json')) as Record<string, unknown> | undefined;
  if (!cfg || typeof cfg !== 'object')
    throw new PipelineError('BAD_OPTION', `${where}: missing or not an object`);
  const modes = Object.entries(cfg)
    .filter(([k, v]) => k.startsWith('pooling_mode_') && v === true)
    .map(([k]) => k.slice('pooling_mode_'.length));
  const byName: Record<string, SentenceTransformersConfig['pooling']> = {
    cls_token: 'cls',
    mean_tokens: 'mean',
    max_tokens: 'max',
  };
  if (modes.length !== 1 || !byName[modes[0]!])
    throw new PipelineError(
      'BAD_OPTION',
      `${where}: pooling ${modes.length ? modes.join(' + ') : 'none'} is not supported (exactly one of ` +
        'pooling_mode_cls_token, pooling_mode_mean_tokens, pooling_mode_max_tokens)',
    );
  return byName[modes[0]!]!;
}
