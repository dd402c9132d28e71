import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('attn --version', () => {
  for (const flag of ['--version', '-v']) {
    it(`${flag} prints the version from package.json and exits 0`, async () => {
      expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/);
      const r = await runCli([flag]);
      expect(r.stdout).toBe(`${pkg.version}\n`);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    });
  }
});
