/** `attn tokenize <text>`: the model's WordPiece tokens and ids (no tensors, no backend). */
import { loadTokenizer } from '../engines.js';
import { type Context, writeLine } from '../io.js';
import { resolveModel } from '../models.js';

export interface TokenizeOptions {
  model?: string;
}

export async function tokenizeCommand(text: string, opts: TokenizeOptions, ctx: Context): Promise<number> {
  const tokenizer = await loadTokenizer(resolveModel(opts.model, 'text-encoder'));
  const { tokens, ids } = tokenizer(text);
  if (ctx.json) {
    await writeLine(ctx.io.stdout, JSON.stringify({ input: text, tokens, ids }));
  } else {
    await writeLine(ctx.io.stdout, `tokens: ${tokens.join(' ')}`);
    await writeLine(ctx.io.stdout, `ids:    ${ids.join(' ')}`);
  }
  return 0;
}
