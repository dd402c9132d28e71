// Builds one example into its dist/ with esbuild, as a user's own build would: platform=browser, minified,
// tfjs's .wasm files copied beside the bundle (where tfjs looks by default), the gzip size printed.
// Usage, from an example's folder: node ../build.mjs
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const here = process.cwd();
// esbuild is each example's own devDependency, so it resolves from the example, not from this shared script.
const { build } = createRequire(join(here, 'package.json'))('esbuild');
const pkg = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
const out = join(here, 'dist');
mkdirSync(out, { recursive: true });
const result = await build({
  entryPoints: [join(here, 'src/main.ts')],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  outfile: join(out, 'main.js'),
  metafile: true,
  logLevel: 'warning',
});
const nodeOnly = Object.keys(result.metafile.inputs).filter((p) =>
  /^node:|\/(sharp|onnxruntime-node)\//.test(p),
);
if (nodeOnly.length)
  throw new Error(`${pkg.name}: Node-only modules in the page bundle: ${nodeOnly.join(', ')}`);
writeFileSync(join(out, 'index.html'), readFileSync(join(here, 'index.html')));
// tfjs-backend-wasm is bundled from wherever the package manager put it; its dist/ beside that holds the binaries.
const wasmInput = Object.keys(result.metafile.inputs).find((p) =>
  p.includes('/@tensorflow/tfjs-backend-wasm/'),
);
if (!wasmInput) throw new Error(`${pkg.name}: the bundle holds no @tensorflow/tfjs-backend-wasm`);
const wasmDir = join(
  process.cwd(),
  wasmInput.slice(0, wasmInput.indexOf('/@tensorflow/tfjs-backend-wasm/')),
  '@tensorflow/tfjs-backend-wasm/dist',
);
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')))
  copyFileSync(join(wasmDir, f), join(out, f));
const js = readFileSync(join(out, 'main.js'));
console.log(
  `${pkg.name}: main.js ${(js.byteLength / 1024).toFixed(0)} KiB, ${(gzipSync(js, { level: 9 }).byteLength / 1024).toFixed(0)} KiB gzip`,
);
