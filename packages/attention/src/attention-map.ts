/** Darker glyph = more attention. ASCII only, so it survives any terminal or log. */
const RAMP = ' .:-=+*#%@';

/**
 * Renders one attention map (rows = queries, columns = keys, each row a probability distribution) as
 * text: a glyph from the ramp " .:-=+*#%@" and the probability in each cell.
 */
export function formatAttentionMap(weights: number[][], queries: string[], keys: string[]): string {
  const labelWidth = Math.max(...queries.map((q) => q.length), 1);
  const cell = Math.max(...keys.map((k) => k.length), 7);
  const pad = (s: string, n: number) => s.padEnd(n).slice(0, n);
  const header = `${' '.repeat(labelWidth)} │ ${keys.map((k) => pad(k, cell)).join(' ')}`;
  const lines = weights.map((row, i) => {
    const cells = row.map((p) => {
      const glyph = RAMP[Math.min(RAMP.length - 1, Math.floor(p * RAMP.length))]!;
      return pad(`${glyph.repeat(2)} ${p.toFixed(2)}`, cell);
    });
    return `${pad(queries[i] ?? '', labelWidth)} │ ${cells.join(' ')}`;
  });
  return [header, `${'─'.repeat(labelWidth)}─┼─${'─'.repeat(header.length - labelWidth - 3)}`, ...lines].join(
    '\n',
  );
}
