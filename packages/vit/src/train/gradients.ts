import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tf } from '@attn/core-tensor';

// Node's ESM loader cannot follow tfjs-core's extensionless relative imports (written for bundlers);
// this resolve hook retries them with ".js" and "/index.js", only for files inside tfjs-core's dist/.
const HOOK = `
export async function resolve(spec, ctx, next) {
  try { return await next(spec, ctx); } catch (e) {
    if (spec.startsWith('.') && ctx.parentURL && ctx.parentURL.includes('/tfjs-core/dist/'))
      for (const ext of ['.js', '/index.js']) { try { return await next(spec + ext, ctx); } catch {} }
    throw e;
  }
}`;

/**
 * tfjs-core's Node bundle registers no gradient functions (the @tensorflow/tfjs umbrella does). Until
 * @attn/core-tensor registers them, training loads tfjs-core's own `register_all_gradients` once; the
 * gradient registry is global to tfjs, so it serves the bundle the workspace uses.
 * A no-op when the gradients are already there.
 */
export async function ensureGradients(): Promise<void> {
  if (tf.getGradient('RealDiv')) return;
  const req = createRequire(import.meta.resolve('@attn/core-tensor'));
  const dir = dirname(req.resolve('@tensorflow/tfjs-core/package.json'));
  const url = pathToFileURL(`${dir}/dist/register_all_gradients.js`).href;
  // Under vitest, vite resolves these imports itself; plain Node (tsx, node) needs the hook first.
  if (!process.env.VITEST) {
    const { register } = await import('node:module');
    register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
  }
  await import(/* @vite-ignore */ url);
  if (!tf.getGradient('RealDiv')) throw new Error('could not register tfjs gradients');
}
