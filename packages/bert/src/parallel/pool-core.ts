// The generic worker pool lives in @attn/core-tensor (src/parallel). Until core-tensor's index re-exports it,
// it is reached by path; then this file becomes `export * from '@attn/core-tensor'` (or is removed).
export * from '../../../core-tensor/src/parallel/index.js';
