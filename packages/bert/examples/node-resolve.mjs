// Lets plain Node (tsx) load tfjs-core's ES-module files, whose relative imports have no extension
// (`./engine`, `./gradients` for a folder): @attn/core-tensor imports `register_all_gradients.js` from there.
// Usage: tsx --import ./examples/node-resolve.mjs examples/spam.ts
import { register } from 'node:module';

const hook = `
export async function resolve(spec, ctx, next) {
  if (ctx.parentURL && ctx.parentURL.includes('/@tensorflow/tfjs-core/dist/') && spec.startsWith('.') && !spec.endsWith('.js')) {
    for (const suffix of ['.js', '/index.js']) {
      try { return await next(spec + suffix, ctx); } catch {}
    }
  }
  return next(spec, ctx);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
