// The generic worker pool lives in @attn/core-tensor (src/parallel), exported as @attn/core-tensor/parallel (Node worker_threads).
export * from '@attn/core-tensor/parallel';
