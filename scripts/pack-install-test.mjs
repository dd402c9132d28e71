#!/usr/bin/env node
/**
 * The pack-and-install test: what a user gets from npm, checked before it is published.
 *
 * Builds the workspace, packs every publishable package with `pnpm pack` (which rewrites `workspace:` ranges
 * to versions), checks each tarball (LICENSE, package metadata, every `exports` / `main` / `types` / `bin`
 * target and every source map's sources inside the tarball, no test files), installs the tarballs with npm
 * into empty folders under the OS temp dir, outside the workspace, with install scripts enabled, and then:
 * - `@attn/text-tokenizer` alone installs nothing but itself;
 * - `@attn/bert`, `@attn/vit` and everything together resolve exactly one `@tensorflow/tfjs-core`, and
 *   neither optional peer (`onnxruntime-node`, `webgpu`) is installed;
 * - the first ```js / ```ts block of each package README, read from the tarball, runs in Node from the
 *   install folder (`../shared/fixtures` in it becomes the fixtures folder: $ATTN_FIXTURES, else
 *   ../shared/fixtures beside the repository; without them it is skipped visibly, under CI=true it fails);
 * - the installed `attn` binary prints its version and runs `attn demo`;
 * - `initBackend('webgpu')` without the `webgpu` package says to install it.
 *
 * Usage: `pnpm run test:pack` (or `node scripts/pack-install-test.mjs [--no-build] [--keep]`).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const fixtures = process.env.ATTN_FIXTURES ?? resolve(root, '../shared/fixtures');
const started = Date.now();
const failures = [];

/** Under `pnpm run`, npm_execpath is the running pnpm; otherwise the one on PATH. */
const pnpm = process.env.npm_execpath?.includes('pnpm')
  ? [process.execPath, process.env.npm_execpath]
  : ['pnpm'];

function log(line) {
  console.log(`[pack] ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s  ${line}`);
}

function check(ok, what) {
  if (!ok) failures.push(what);
  if (!ok) console.error(`[pack] FAIL ${what}`);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(
      `${cmd} ${argv.join(' ')} (in ${opts.cwd ?? process.cwd()}) exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`,
    );
  return r;
}

/** Every file under dir, as posix paths relative to it. */
function walk(dir, base = dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, base));
    else out.push(relative(base, p).split('\\').join('/'));
  }
  return out;
}

/** The string leaves of an `exports` map, with the condition path that leads to each. */
function exportTargets(exp, path = []) {
  if (typeof exp === 'string') return [[path.join(' → ') || '.', exp]];
  if (exp && typeof exp === 'object')
    return Object.entries(exp).flatMap(([k, v]) => exportTargets(v, [...path, k]));
  return [];
}

function publishable() {
  const dirs = ['packages', 'apps'].flatMap((d) =>
    readdirSync(join(root, d)).map((name) => join(root, d, name)),
  );
  return dirs
    .filter((d) => existsSync(join(d, 'package.json')))
    .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
    .filter(({ pkg }) => !pkg.private);
}

/** Checks one unpacked tarball (`package/` folder) against what the registry and its users need. */
function checkTarball(name, unpacked) {
  const files = new Set(walk(unpacked));
  const pkg = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8'));
  const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8');
  check(files.has('LICENSE'), `${name}: the tarball has no LICENSE`);
  if (files.has('LICENSE'))
    check(
      readFileSync(join(unpacked, 'LICENSE'), 'utf8') === rootLicense,
      `${name}: LICENSE differs from the repository's`,
    );
  check(files.has('README.md'), `${name}: the tarball has no README.md`);
  check(pkg.license === 'Apache-2.0', `${name}: license is ${pkg.license}, not Apache-2.0`);
  for (const field of ['homepage', 'keywords'])
    check(pkg[field]?.length > 0, `${name}: package.json has no ${field}`);
  check(!!pkg.bugs?.url, `${name}: package.json has no bugs.url`);
  check(
    !!pkg.repository?.url && !!pkg.repository?.directory,
    `${name}: package.json needs repository.url and repository.directory`,
  );
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'])
    for (const [dep, range] of Object.entries(pkg[field] ?? {}))
      check(!String(range).startsWith('workspace:'), `${name}: ${field}.${dep} is still "${range}"`);

  const targets = [
    ...exportTargets(pkg.exports).map(([cond, t]) => [`exports ${cond}`, t]),
    ...['main', 'types'].filter((f) => pkg[f]).map((f) => [f, pkg[f]]),
    ...Object.entries(typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {})).map(
      ([b, t]) => [`bin ${b}`, t],
    ),
  ];
  for (const [what, target] of targets)
    check(files.has(posix.normalize(target)), `${name}: ${what} points at ${target}, not in the tarball`);

  let maps = 0;
  for (const f of files) {
    check(!/\.test\.ts$/.test(f), `${name}: the tarball ships the test file ${f}`);
    if (!f.endsWith('.map')) continue;
    maps++;
    const map = JSON.parse(readFileSync(join(unpacked, f), 'utf8'));
    for (const src of map.sources) {
      const target = posix.normalize(posix.join(posix.dirname(f), map.sourceRoot ?? '', src));
      check(files.has(target), `${name}: ${f} maps to ${target}, not in the tarball`);
    }
  }
  log(`${name}: ${files.size} files, ${maps} source maps, ${targets.length} entry points checked`);
  return pkg;
}

/** The environment without the npm_* variables `pnpm run` sets, which npm would read as its own config. */
const npmEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

/** Installs tarballs with npm into a new empty folder; resolves to the folder. */
async function npmInstall(work, label, tarballs) {
  const dir = join(work, `install-${label}`);
  mkdirSync(dir);
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: `attn-pack-${label}`, private: true, type: 'module' }, null, 2)}\n`,
  );
  // No --ignore-scripts: an install script that fails or reaches past the registry must show here.
  const argv = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs];
  const t0 = Date.now();
  try {
    await promisify(execFile)('npm', argv, { cwd: dir, env: npmEnv, maxBuffer: 64 << 20 });
  } catch (e) {
    throw new Error(`npm ${argv.join(' ')} (in ${dir}) failed\n${e.stdout}\n${e.stderr}`);
  }
  log(`npm install ${label}: ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return dir;
}

/** Installed copies of a package under node_modules (nested ones included): their folders. */
function installedCopies(dir, name) {
  const found = [];
  const visit = (nm) => {
    if (!existsSync(nm)) return;
    for (const e of readdirSync(nm)) {
      if (e.startsWith('.')) continue;
      const scoped = e.startsWith('@') ? readdirSync(join(nm, e)).map((s) => `${e}/${s}`) : [e];
      for (const p of scoped) {
        const pj = join(nm, p, 'package.json');
        if (!existsSync(pj)) continue;
        if (JSON.parse(readFileSync(pj, 'utf8')).name === name) found.push(join(nm, p));
        visit(join(nm, p, 'node_modules'));
      }
    }
  };
  visit(join(dir, 'node_modules'));
  return found;
}

/** The first ```js or ```ts block of a README, and its language. */
function firstExample(readme) {
  const m = /^```(js|ts|javascript|typescript)\s*\n([\s\S]*?)^```\s*$/m.exec(readme);
  return m && { lang: m[1].startsWith('t') ? 'ts' : 'js', code: m[2] };
}

function tsxLoader() {
  // README examples in TypeScript run through tsx's loader (type stripping only; modules still resolve
  // from the install folder, without the workspace's @attn/source condition).
  const req = createRequire(join(root, 'packages/attention/package.json'));
  return pathToFileURL(req.resolve('tsx/esm')).href;
}

function runExample(installDir, name, readme) {
  const ex = firstExample(readme);
  check(!!ex, `${name}: README has no \`\`\`js or \`\`\`ts example`);
  if (!ex) return;
  if (ex.code.includes('../shared/fixtures') && !existsSync(fixtures)) {
    // As the workspace's tests do: a visible skip on a developer's machine, never under CI.
    const msg = `${name}: the README example needs the fixtures, not found at ${fixtures} (set ATTN_FIXTURES)`;
    if (process.env.CI === 'true') check(false, `${msg}; under CI=true they are required`);
    else log(`SKIPPED ${msg}`);
    return;
  }
  const file = join(installDir, `example-${name.replace(/\W+/g, '-')}.${ex.lang === 'ts' ? 'ts' : 'mjs'}`);
  writeFileSync(file, ex.code.replaceAll('../shared/fixtures', fixtures));
  const loader = ex.lang === 'ts' ? ['--import', tsxLoader()] : [];
  const r = run(process.execPath, [...loader, file], { cwd: installDir, allowFail: true, timeout: 180_000 });
  const out = `${r.stdout}${r.stderr}`.trim().split('\n');
  check(
    r.status === 0,
    `${name}: README example exited ${r.status ?? r.signal}:\n${out.slice(-15).join('\n')}`,
  );
  if (r.status === 0) log(`${name}: README example ran (${out.length} lines of output, last: ${out.at(-1)})`);
}

const work = mkdtempSync(join(tmpdir(), 'attn-pack-'));
try {
  if (!args.has('--no-build')) {
    // From empty dist/ folders: a file left from a deleted or renamed source would ship (turbo's cache restores
    // a build's outputs but never removes extra files).
    for (const { dir } of publishable()) rmSync(join(dir, 'dist'), { recursive: true, force: true });
    run(pnpm[0], [...pnpm.slice(1), 'run', 'build', '--output-logs=errors-only'], {
      cwd: root,
      stdio: 'inherit',
    });
    log('built');
  }
  const tarDir = join(work, 'tarballs');
  mkdirSync(tarDir);
  const packed = new Map();
  for (const { dir, pkg } of publishable()) {
    const before = new Set(readdirSync(tarDir));
    run(pnpm[0], [...pnpm.slice(1), 'pack', '--pack-destination', tarDir], { cwd: dir });
    const [tgz] = readdirSync(tarDir).filter((f) => !before.has(f));
    const unpacked = join(work, 'unpacked', pkg.name);
    mkdirSync(unpacked, { recursive: true });
    execFileSync('tar', ['-xzf', join(tarDir, tgz), '-C', unpacked]);
    const size = (statSync(join(tarDir, tgz)).size / 1024).toFixed(0);
    log(`packed ${pkg.name} (${tgz}, ${size} KiB)`);
    packed.set(pkg.name, { tgz: join(tarDir, tgz), unpacked: join(unpacked, 'package'), src: dir });
    checkTarball(pkg.name, join(unpacked, 'package'));
  }

  const tgz = (name) => packed.get(name).tgz;
  const localDeps = (name) => {
    // The tarball and the tarballs of the @attn packages it depends on, as a user would get them from npm.
    const seen = new Set();
    const add = (n) => {
      if (seen.has(n) || !packed.has(n)) return;
      seen.add(n);
      const pkg = JSON.parse(readFileSync(join(packed.get(n).unpacked, 'package.json'), 'utf8'));
      for (const d of Object.keys(pkg.dependencies ?? {})) add(d);
    };
    add(name);
    return [...seen].map(tgz);
  };

  // The tokenizer alone: it must bring no other package with it.
  const tok = await npmInstall(work, 'text-tokenizer', [tgz('@attn/text-tokenizer')]);
  const nm = join(tok, 'node_modules');
  const tokDeps = readdirSync(nm)
    .filter((e) => !e.startsWith('.'))
    .flatMap((e) => (e.startsWith('@') ? readdirSync(join(nm, e)).map((s) => `${e}/${s}`) : [e]));
  check(
    tokDeps.length === 1 && tokDeps[0] === '@attn/text-tokenizer',
    `@attn/text-tokenizer: installs with dependencies: ${tokDeps.join(', ')}`,
  );

  // Side by side: mostly waiting on the registry and the disk (npm's cache takes concurrent writers).
  const installs = Object.fromEntries(
    await Promise.all(
      Object.entries({
        bert: localDeps('@attn/bert'),
        vit: localDeps('@attn/vit'),
        all: [...packed.keys()].map(tgz),
      }).map(async ([label, tarballs]) => [label, await npmInstall(work, label, tarballs)]),
    ),
  );
  for (const [label, dir] of Object.entries(installs)) {
    const tfjs = installedCopies(dir, '@tensorflow/tfjs-core');
    check(
      tfjs.length === 1,
      `install ${label}: ${tfjs.length} copies of @tensorflow/tfjs-core: ${tfjs.join(', ')}`,
    );
    for (const peer of ['onnxruntime-node', 'webgpu']) {
      const copies = installedCopies(dir, peer);
      check(
        copies.length === 0,
        `install ${label}: the optional peer ${peer} was installed (${copies.join(', ')})`,
      );
    }
    const ls = run('npm', ['ls', '--all', '--parseable'], { cwd: dir, allowFail: true, env: npmEnv });
    check(ls.status === 0, `install ${label}: npm ls reports problems:\n${ls.stderr}`);
  }
  log('one @tensorflow/tfjs-core in each install, no optional peer installed, npm ls clean');

  for (const [name, { unpacked }] of packed) {
    if (name === '@attn/classifier') continue; // a CLI: its installed binary is run below
    runExample(installs.all, name, readFileSync(join(unpacked, 'README.md'), 'utf8'));
  }

  const attn = join(installs.all, 'node_modules/.bin/attn');
  const version = run(attn, ['--version'], { cwd: installs.all }).stdout.trim();
  const want = JSON.parse(
    readFileSync(join(packed.get('@attn/classifier').unpacked, 'package.json'), 'utf8'),
  );
  check(version === want.version, `attn --version printed "${version}", not ${want.version}`);
  const demo = run(attn, ['demo'], { cwd: installs.all, allowFail: true, timeout: 180_000 });
  check(
    demo.status === 0 && /mnist-vit/.test(demo.stdout) && /spam-bert/.test(demo.stdout),
    `attn demo from the installed package failed (${demo.status}):\n${demo.stdout}\n${demo.stderr}`,
  );
  if (demo.status === 0) log(`installed attn ${version}: attn demo ran\n${demo.stdout.trimEnd()}`);

  const webgpu = run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import { initBackend } from '@attn/core-tensor';\n" +
        "try { await initBackend('webgpu'); console.log('started'); }\n" +
        'catch (e) { console.log(e.name + ": " + e.message); }',
    ],
    { cwd: installs.all },
  ).stdout.trim();
  check(
    /^BackendUnavailableError: .*`npm install webgpu`/.test(webgpu),
    `initBackend('webgpu') without the webgpu package: ${webgpu}`,
  );
  log(`initBackend('webgpu') without the package: ${webgpu}`);
} finally {
  if (args.has('--keep')) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

if (failures.length) {
  console.error(`\n[pack] ${failures.length} problem(s):\n- ${failures.join('\n- ')}`);
  process.exit(1);
}
log('pack-and-install test passed');
