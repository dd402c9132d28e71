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
    // Each stand-in, bundled for the page on its own (no tfjs), then run here.
    const load = async (entry: string, dir: string) => {
      const { code } = await bundleForBrowser(entry, join(root, 'packages', dir));
      return import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
    };
    const { node, NodeOnlyError } = await load(`export * from '@attn/core-tensor/platform';`, 'vit');
    expect(() => node.fsp.readFile).toThrow(NodeOnlyError);
    expect(() => node.path.join).toThrow(/^node:path\.join needs Node/);
    const pool = await load(`export * from './src/parallel/feature-extraction-pool.browser.ts';`, 'bert');
    await expect(pool.createFeatureExtractionPool({ model: 'm' })).rejects.toMatchObject({
      name: 'NodeOnlyError',
      feature: 'createFeatureExtractionPool (worker_threads)',
    });
    const sharp = await load(`export * from './src/platform/sharp.browser.ts';`, 'vit');
    await expect(sharp.importSharp()).rejects.toMatchObject({ name: 'NodeOnlyError', feature: 'sharp' });
  });
});
