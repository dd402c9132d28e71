export { NodeOnlyError } from './errors.js';
export type { NodeBuiltins } from './node.js';
export { importOnnxRuntime, node } from './node.js';
