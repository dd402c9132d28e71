/**
 * A model folder that transformers.js (and Optimum / onnxruntime users) load as is:
 *   config.json, model.safetensors   (also loadable by attn and by Python transformers)
 *   vocab.txt, tokenizer.json, tokenizer_config.json
 *   onnx/model.onnx, and onnx/model_quantized.onnx with `dtypes: ['fp32', 'q8']` (what transformers.js loads
 *   for `dtype: 'q8'`: int8 per-channel weights, dynamic int8 activations; about 4× smaller), onnx/model_fp16.onnx
 *   with 'fp16' (float16 weights cast to float32 in the graph: half the file, float32 inputs and outputs)
 * transformers.js reads tokenizers only from tokenizer.json, so one is written from the WordPiece vocab with
 * the BERT normalizer / pre-tokenizer / post-processor that HF's fast BertTokenizer uses.
 */
import { node } from '@attn/core-tensor/platform';
import type { BertPreTrainedModel } from '../pretrained.js';
import { type BertOnnxTask, exportOnnx } from './onnx.js';
import type { OnnxExportResult } from './onnx-core.js';

export interface BertTokenizerJsonOptions {
  doLowerCase?: boolean;
  /** null follows doLowerCase, as in transformers. */
  stripAccents?: boolean | null;
  tokenizeChineseChars?: boolean;
  modelMaxLength?: number;
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** HF `tokenizers` JSON for a BERT WordPiece vocab (one token per line, id = line number). */
export function bertTokenizerJson(vocab: string[], opts: BertTokenizerJsonOptions = {}): object {
  const id = (t: string) => {
    const i = vocab.indexOf(t);
    if (i < 0) throw new Error(`vocab.txt has no ${t} token (needed by the BERT tokenizer)`);
    return i;
  };
  const special = (t: string, typeId: number) => ({ SpecialToken: { id: t, type_id: typeId } });
  const seq = (s: 'A' | 'B', typeId: number) => ({ Sequence: { id: s, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((t) => ({
      id: id(t),
      content: t,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: opts.tokenizeChineseChars ?? true,
      strip_accents: opts.stripAccents ?? null,
      lowercase: opts.doLowerCase ?? true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), seq('A', 0), special('[SEP]', 0), seq('B', 1), special('[SEP]', 1)],
      special_tokens: Object.fromEntries(
        ['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((t, i) => [t, i])),
    },
  };
}

export interface TransformersJsFolderOptions extends BertTokenizerJsonOptions {
  /** The WordPiece vocabulary (vocab.txt) of the model's tokenizer. */
  vocabFile: string;
  task?: BertOnnxTask;
  /**
   * The ONNX precisions to write (transformers.js file names): 'fp32' model.onnx, 'fp16' model_fp16.onnx, 'q8'
   * model_quantized.onnx. Default ['fp32'].
   */
  dtypes?: readonly ('fp32' | 'fp16' | 'q8')[];
}

/** transformers.js' file for each `dtype` (its `DEFAULT_DTYPE_SUFFIX_MAPPING`). */
export const ONNX_FILE_OF_DTYPE = {
  fp32: 'model.onnx',
  fp16: 'model_fp16.onnx',
  q8: 'model_quantized.onnx',
} as const;

/** Writes `dir` (see the file comment). Returns what the first ONNX export wrote. */
export async function exportTransformersJsFolder(
  model: BertPreTrainedModel,
  dir: string,
  opts: TransformersJsFolderOptions,
): Promise<OnnxExportResult> {
  await node.fsp.mkdir(node.path.join(dir, 'onnx'), { recursive: true });
  await model.save(dir);
  const vocab = (await node.fsp.readFile(opts.vocabFile, 'utf8')).replace(/\r?\n$/, '').split(/\r?\n/);
  if (node.path.join(dir, 'vocab.txt') !== opts.vocabFile)
    await node.fsp.copyFile(opts.vocabFile, node.path.join(dir, 'vocab.txt'));
  await node.fsp.writeFile(
    node.path.join(dir, 'tokenizer.json'),
    JSON.stringify(bertTokenizerJson(vocab, opts)),
  );
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: opts.doLowerCase ?? true,
    strip_accents: opts.stripAccents ?? null,
    tokenize_chinese_chars: opts.tokenizeChineseChars ?? true,
    model_max_length: opts.modelMaxLength ?? model.config.max_position_embeddings,
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
  };
  await node.fsp.writeFile(
    node.path.join(dir, 'tokenizer_config.json'),
    `${JSON.stringify(tokenizerConfig, null, 2)}\n`,
  );
  const written = (opts.dtypes ?? ['fp32']).map((dtype) =>
    exportOnnx(model, node.path.join(dir, 'onnx', ONNX_FILE_OF_DTYPE[dtype]), { task: opts.task, dtype }),
  );
  if (!written[0]) throw new RangeError('exportTransformersJsFolder: dtypes is empty');
  return written[0];
}
