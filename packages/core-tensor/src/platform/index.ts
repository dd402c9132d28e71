export { NodeOnlyError } from './errors.js';
export type { NodeBuiltins } from './node.js';
export { hasNodeBuiltins, importOnnxRuntime, node } from './node.js';
