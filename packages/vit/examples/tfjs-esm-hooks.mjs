// Lets plain Node load tfjs-core's ESM files (extensionless imports written for bundlers), which training
// needs for tfjs's gradient registrations. Used as `node --import ./examples/tfjs-esm-hooks.mjs`.
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
