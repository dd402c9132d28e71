import { tf } from '@attn/core-tensor';
import { ViTForImageClassification } from '../model.js';
import { type EpochStats, type ImageDataset, type TrainOptions, trainImageClassifier } from './train.js';

/**
 * A new classifier for another label set on the same backbone: the `vit.*` weights are copied, the
 * `classifier` head is freshly initialised with one output per label, and id2label/label2id are rewritten.
 * `labels` is the list of class names (index = position) or an id2label map. The original model is untouched.
 */
export function withNewLabels(
  model: ViTForImageClassification,
  labels: string[] | Record<string, string>,
): ViTForImageClassification {
  const id2label = Array.isArray(labels) ? Object.fromEntries(labels.map((l, i) => [String(i), l])) : labels;
  const next = new ViTForImageClassification(model.config.with({ id2label }));
  const backbone = new Map([...model.stateDict()].filter(([k]) => k.startsWith('vit.')));
  try {
    next.loadStateDict(backbone, { strict: false });
  } finally {
    tf.dispose([...backbone.values()]);
  }
  return next;
}

/**
 * Fine-tunes a pretrained ViT (folder, hub id or model) on a new label set: head replaced, id2label
 * rewritten, then `trainImageClassifier`. Returns the new model and its curves.
 */
export async function fineTuneImageClassifier(
  pretrained: string | ViTForImageClassification,
  labels: string[] | Record<string, string>,
  data: { train: ImageDataset; test?: ImageDataset },
  opts: TrainOptions,
): Promise<{ model: ViTForImageClassification; history: EpochStats[] }> {
  const base =
    typeof pretrained === 'string' ? await ViTForImageClassification.fromPretrained(pretrained) : pretrained;
  const model = withNewLabels(base, labels);
  if (typeof pretrained === 'string') base.dispose();
  const history = await trainImageClassifier(model, data, opts);
  return { model, history };
}
