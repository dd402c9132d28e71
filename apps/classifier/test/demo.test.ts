/** `attn demo` with the committed built-in models on the bundled samples: the README's main job. */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

describe('attn demo', () => {
  it('classifies the sample digits and mails with the built-in models', async () => {
    const r = await runCli(['--backend', 'wasm', '--json', 'demo', '--top', '2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.json() as { input: string; predictions: { label: string; score: number }[] }[];
    expect(lines.map((l) => l.predictions[0].label)).toEqual(['3', '7', 'ham', 'spam']);
    expect(lines[0].input).toMatch(/samples\/digit-3\.png$/);
    expect(lines[3].input).toMatch(/^Congratulations!/);
    for (const l of lines) expect(l.predictions[0].score).toBeGreaterThan(0.5);
  });
});
