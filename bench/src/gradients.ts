import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tf } from '@attn/core-tensor';

/**
 * tfjs-core's Node bundle registers no gradients; training needs tfjs-core's `register_all_gradients`,
 * whose extensionless imports the tsx loader resolves. The registry is global: one load serves the process.
 * A no-op once @attn/core-tensor (or another package) has registered them.
 */
export async function ensureGradients(): Promise<void> {
  if (tf.getGradient('RealDiv')) return;
  const core = join(dirname(fileURLToPath(import.meta.url)), '../../packages/core-tensor/package.json');
  const dir = dirname(createRequire(core).resolve('@tensorflow/tfjs-core/package.json'));
  await import(pathToFileURL(join(dir, 'dist/register_all_gradients.js')).href);
  if (!tf.getGradient('RealDiv')) throw new Error('could not register the tfjs gradients');
}
