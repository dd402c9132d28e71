// tfjs-core's ESM dist (register_all_gradients.js and what it imports) uses extensionless and directory
// imports written for bundlers; plain Node rejects them. This resolve hook retries such imports from inside
// tfjs-core's dist/ with ".js" and "/index.js". Loaded with `--import` before anything else.
import { register } from 'node:module';

const hook = `
export async function resolve(spec, ctx, next) {
  try { return await next(spec, ctx); } catch (e) {
    if (spec.startsWith('.') && ctx.parentURL && ctx.parentURL.includes('/tfjs-core/dist/'))
      for (const ext of ['.js', '/index.js']) { try { return await next(spec + ext, ctx); } catch {} }
    throw e;
  }
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`, import.meta.url);
