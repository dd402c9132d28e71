import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

describe('registerGradients', () => {
  it('makes tf.grad work in plain Node, where tfjs-core resolves to its CommonJS bundle', () => {
    // vite resolves tfjs-core's extension-less ESM imports by itself, so this must run outside vitest.
    const dir = mkdtempSync(join(tmpdir(), 'attn-grads-'));
    const req = createRequire(import.meta.url);
    const url = (spec: string) => pathToFileURL(req.resolve(spec)).href;
    const coreDir = req.resolve('@tensorflow/tfjs-core/package.json').replace(/package\.json$/, '');
    const source = readFileSync(new URL('./gradients.ts', import.meta.url), 'utf8').replaceAll(
      '@tensorflow/tfjs-core/dist/register_all_gradients.js',
      pathToFileURL(join(coreDir, 'dist/register_all_gradients.js')).href,
    );
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(dir, 'gradients.mjs'), js.outputText.replace("'./platform/node.js'", "'./node.mjs'"));
    // gradients.ts reaches node:module through the platform seam, transpiled beside it.
    const seam = readFileSync(new URL('./platform/node.ts', import.meta.url), 'utf8');
    writeFileSync(
      join(dir, 'node.mjs'),
      ts.transpileModule(seam, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText,
    );
    writeFileSync(
      join(dir, 'child.mjs'),
      `import * as tf from ${JSON.stringify(url('@tensorflow/tfjs-core'))};
       import ${JSON.stringify(url('@tensorflow/tfjs-backend-cpu'))};
       import { registerGradients } from './gradients.mjs';
       await tf.setBackend('cpu');
       await registerGradients();
       const g = tf.grad((x) => tf.sum(tf.square(x)))(tf.tensor1d([1, -2, 3]));
       process.stdout.write(JSON.stringify([...(await g.data())]));`,
    );
    const out = execFileSync(process.execPath, [join(dir, 'child.mjs')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(JSON.parse(out)).toEqual([2, -4, 6]);
  });
});
