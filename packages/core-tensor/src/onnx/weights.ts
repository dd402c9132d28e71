import * as tf from '@tensorflow/tfjs-core';
import type { Module } from '../module.js';
import { OnnxGraphError } from './graph.js';

/** A weight in host memory, in the checkpoint's (Hugging Face) layout. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** A weight, or how to download it when the graph first reads it. */
type Entry = HostTensor | (() => HostTensor);

/**
 * Weights by state-dict name, as float32 host arrays. Tracks which names were read, so an exporter can refuse
 * to write a graph that silently ignores part of the checkpoint.
 */
export class OnnxWeights {
  private readonly used = new Set<string>();
  constructor(private readonly tensors: Map<string, Entry>) {}

  /** Downloads a state dict (HF layout) to host memory. Does not dispose the tensors. */
  static fromStateDict(stateDict: Map<string, tf.Tensor>): OnnxWeights {
    const host = new Map<string, Entry>();
    for (const [name, t] of stateDict) host.set(name, { shape: [...t.shape], data: toFloat32(t.dataSync()) });
    return new OnnxWeights(host);
  }

  /**
   * The parameters of a loaded module, each downloaded in HF layout only when the graph reads it, so the
   * device never holds the whole state dict a second time (as `stateDict()` would).
   */
  static fromModule(module: Module): OnnxWeights {
    const host = new Map<string, Entry>();
    for (const [name, p] of module.namedParameters())
      host.set(name, () => {
        if (!p.layout) return { shape: [...p.shape], data: toFloat32(p.variable.dataSync()) };
        const t = tf.tidy(() => p.layout!.toExternal(p.variable));
        try {
          return { shape: [...t.shape], data: toFloat32(t.dataSync()) };
        } finally {
          t.dispose();
        }
      });
    return new OnnxWeights(host);
  }

  /**
   * The weights of each of `module`'s parameters from a checkpoint read to host memory (names already mapped
   * onto the module's), with nothing going through tfjs; null when the checkpoint lacks any of them.
   */
  static forModule(
    module: Module,
    checkpoint: Map<string, { shape: number[]; data: Float32Array | Int32Array }>,
  ): OnnxWeights | null {
    const host = new Map<string, Entry>();
    for (const [name] of module.namedParameters()) {
      const t = checkpoint.get(name);
      if (!t) return null;
      host.set(name, { shape: t.shape, data: toFloat32(t.data) });
    }
    return new OnnxWeights(host);
  }

  /** The same weights under other names (e.g. a model's `checkpointNames`, which adds or strips a prefix). */
  renamed(rename: <T>(tensors: Map<string, T>) => Map<string, T>): OnnxWeights {
    return new OnnxWeights(rename(this.tensors));
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  get(name: string): HostTensor {
    let t = this.tensors.get(name);
    if (!t) throw new OnnxGraphError(`weight "${name}" is missing from the state dict`);
    if (typeof t === 'function') {
      t = t();
      this.tensors.set(name, t);
    }
    this.used.add(name);
    return t;
  }

  /** Marks every weight under `prefix` as deliberately not exported (e.g. a pooler a head does not use). */
  ignore(prefix: string): void {
    for (const n of this.tensors.keys()) if (n.startsWith(prefix)) this.used.add(n);
  }

  /** Names never read: the exporter treats these as a bug (or an unsupported head). */
  unused(): string[] {
    return [...this.tensors.keys()].filter((n) => !this.used.has(n));
  }
}

const toFloat32 = (d: ArrayLike<number> | Float32Array): Float32Array =>
  d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>);
