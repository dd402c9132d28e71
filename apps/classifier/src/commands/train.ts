import type { Command } from 'commander';
import type { Context } from '../io.js';

export function registerTrainCommands(
  _program: Command,
  _run: <A extends unknown[]>(
    fn: (ctx: Context, ...args: A) => Promise<number>,
  ) => (...args: A) => Promise<void>,
): void {}
