import { Module } from '@attn/core-tensor';

/**
 * A named group of sub-modules with no computation of its own. It exists only to reproduce Hugging Face's
 * state-dict nesting (`attention.output.dense.weight`), so checkpoints load without renaming.
 */
export class Group extends Module {
  constructor(members: Record<string, Module>) {
    super();
    for (const [name, m] of Object.entries(members)) this.module(name, m);
  }
}
