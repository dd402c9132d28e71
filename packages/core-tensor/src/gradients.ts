import { node } from './platform/node.js';

/**
 * tfjs-core registers no gradient functions by itself (the @tensorflow/tfjs union package does it), so
 * training needs `@tensorflow/tfjs-core/dist/register_all_gradients.js`. That file is ESM with
 * extension-less relative imports: bundlers and vite resolve them, plain Node does not. In Node we
 * therefore install a narrow loader hook that, only for files inside tfjs-core's dist/, treats them
 * as ESM and retries a failed relative import with ".js" (or "/index.js"). The gradients land in tfjs's global
 * registry, shared by every copy of tfjs-core in the process.
 */
const isNode = typeof process !== 'undefined' && !!process.versions?.node;

const HOOK = `
const inCore = (url) => typeof url === 'string' && url.includes('/@tensorflow/tfjs-core/dist/') && !url.includes('/tf-core.');
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (e) {
    if (!inCore(context.parentURL) || !specifier.startsWith('.') || specifier.endsWith('.js')) throw e;
    try {
      return await next(specifier + '.js', context);
    } catch {
      return next(specifier + '/index.js', context);
    }
  }
}
export async function load(url, context, next) {
  return next(url, inCore(url) && url.endsWith('.js') ? { ...context, format: 'module' } : context);
}`;

let registered: Promise<void> | undefined;

/** Registers every tfjs gradient once; initBackend calls it, so training works after initBackend. */
export function registerGradients(): Promise<void> {
  registered ??= (async () => {
    if (isNode) {
      const { register } = node.module;
      register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
    }
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  })();
  return registered;
}
