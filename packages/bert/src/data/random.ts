// The seeded PRNG lives in core-tensor so that every package draws from the same one.
export { Random } from '@attn/core-tensor';
