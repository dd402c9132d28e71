import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources (the "@attn/source" export condition),
// so a test run never depends on stale dist/ output.
export default defineConfig({
  resolve: { conditions: ['@attn/source'] },
  ssr: { resolve: { conditions: ['@attn/source'] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'apps/*/test/**/*.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: true,
  },
});
