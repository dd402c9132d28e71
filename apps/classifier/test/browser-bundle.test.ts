/**
 * Every package bundles for a web page (esbuild, platform=browser) with nothing Node-only inside: no `node:*`
 * module, no sharp, no onnxruntime-node, no worker_threads. Node keeps those features under the same names;
 * in the page their stand-ins throw NodeOnlyError.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser } from './browser-bundle.js';

const root = resolve(import.meta.dirname, '../../..');
const packages = ['core-tensor', 'attention', 'text-tokenizer', 'bert', 'vit'];
const NODE_ONLY =
  /^node:|^(fs|path|os|crypto|module|url|util|stream|events|child_process|worker_threads)$|(^|\/)(sharp|onnxruntime-node|@img)(@|\/)/;

describe('browser bundles', () => {
  for (const dir of packages) {
    const name = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')).name as string;
    it(`${name} bundles with no Node-only module`, async () => {
      const b = await bundleForBrowser(`export * from '${name}';`, join(root, 'packages', dir));
      // A module a `browser` field turns off appears as "(disabled):…"; it contributes no code.
      const nodeOnly = b.inputs.filter((p) => !p.startsWith('(disabled):') && NODE_ONLY.test(p));
      expect(nodeOnly).toEqual([]);
      expect(b.external).toEqual([]);
      expect(b.code).not.toMatch(/from\s*["']node:|import\(\s*["']node:|require\(\s*["']node:/);
    });
  }

  it('the page gets the stand-ins: same names, NodeOnlyError naming what they need', async () => {
    const b = await bundleForBrowser(
      `export { node } from '@attn/core-tensor/platform';
       export { createFeatureExtractionPool } from '@attn/bert';
       export { ViTImageProcessor } from '@attn/vit';`,
      join(root, 'apps', 'classifier'),
    );
    for (const swapped of [
      'packages/core-tensor/src/platform/node.browser.ts',
      'packages/bert/src/parallel/feature-extraction-pool.browser.ts',
      'packages/vit/src/platform/sharp.browser.ts',
    ])
      expect(b.inputs).toContain(swapped);
    const { node, NodeOnlyError } = await import(
      '../../../packages/core-tensor/src/platform/node.browser.js'
    );
    expect(() => node.fsp.readFile).toThrow(NodeOnlyError);
    expect(() => node.path.join).toThrow(/^node:path\.join needs Node/);
    const pool = await import('../../../packages/bert/src/parallel/feature-extraction-pool.browser.js');
    await expect(pool.createFeatureExtractionPool({ model: 'm' })).rejects.toMatchObject({
      name: 'NodeOnlyError',
      feature: 'createFeatureExtractionPool (worker_threads)',
    });
    const sharp = await import('../../../packages/vit/src/platform/sharp.browser.js');
    await expect(sharp.importSharp()).rejects.toMatchObject({ name: 'NodeOnlyError', feature: 'sharp' });
  });
});
