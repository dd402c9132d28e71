import { describe, expect, it } from 'vitest';
import { formatAttentionMap } from './index.js';

describe('formatAttentionMap', () => {
  it('draws each probability with a glyph from " .:-=+*#%@" and two decimals', () => {
    const text = formatAttentionMap(
      [
        [1, 0],
        [0.25, 0.75],
      ],
      ['a', 'bb'],
      ['x', 'y'],
    );
    expect(text.split('\n')).toEqual([
      '   │ x       y      ',
      '───┼────────────────',
      'a  │ @@ 1.00    0.00',
      'bb │ :: 0.25 ## 0.75',
    ]);
  });
});
