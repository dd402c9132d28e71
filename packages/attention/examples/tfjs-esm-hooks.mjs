// Lets plain Node load tfjs-core's ESM gradient files, whose imports are extensionless (written for
// bundlers); @attn/core-tensor imports them to register gradients. Used as `node --import ./examples/tfjs-esm-hooks.mjs`.
import { register } from 'node:module';

const HOOK = `
export async function resolve(spec, ctx, next) {
  try { return await next(spec, ctx); } catch (e) {
    if (ctx.parentURL && ctx.parentURL.includes('/tfjs-core/dist/') && !spec.endsWith('.js'))
      for (const ext of ['.js', '/index.js']) { try { return await next(spec + ext, ctx); } catch {} }
    throw e;
  }
}`;
register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
