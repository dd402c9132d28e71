// The generic worker pool lives in @attn/core-tensor (src/parallel).
export * from '@attn/core-tensor';
