import * as tf from '@tensorflow/tfjs-core';

/**
 * `tf.variableGrads` with the memory of a PyTorch backward: the value of `f` and the gradients of `f` with
 * respect to `variables`, keyed by variable name.
 *
 * tfjs runs the whole backward in one tidy: the gradient of every taped op's output and every tensor saved
 * for the backward live until the last op is differentiated, so a training step peaks at the sum of all of
 * them (MiniLM-shaped 8 × 128: 3.2 GB of tensors, against 353 MB for the forward). Here each op's output
 * gradients and saved tensors are freed as soon as that op has been differentiated: the peak is the
 * activations the backward has not reached yet plus the gradients in flight. The arithmetic is tfjs's own:
 * the same recorded gradient functions, in the same reverse order, summed the same way.
 */
export function variableGradsFreeing(
  f: () => tf.Scalar,
  variables: tf.Variable[],
): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const engine = tf.engine() as unknown as Engine;
  if (engine.state.gradientDepth > 0)
    // Inside another gradient (higher-order): the outer tape needs everything; tfjs's own path.
    return tf.variableGrads(f, variables);
  const value = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy('forward', f),
  ) as tf.Scalar;
  if (!(value instanceof tf.Tensor) || value.rank !== 0)
    throw new Error('variableGradsFreeing: f must return a scalar tensor');
  const tape = engine.state.activeTape ?? [];
  engine.state.activeTape = null;
  try {
    const grads = engine.tidy('backward', () => backprop(tape, variables, value));
    return { value, grads };
  } finally {
    for (const node of tape) for (const t of node.saved) t.dispose();
  }
}

/** The parts of tfjs's engine and tape this uses (tfjs-core/src/engine.ts, tape.ts). */
interface TapeNode {
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved: tf.Tensor[];
}
interface Engine {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

function backprop(tape: TapeNode[], variables: tf.Variable[], y: tf.Scalar): tf.NamedTensorMap {
  // Tensors that depend on a variable (forward), then the ops on a path from a variable to y (backward).
  const fromVar = new Set(variables.map((v) => v.id));
  const onPath: boolean[] = tape.map((node) => {
    if (!Object.values(node.inputs).some((t) => fromVar.has(t.id))) return false;
    for (const o of node.outputs) fromVar.add(o.id);
    return true;
  });
  const toY = new Set([y.id]);
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (!onPath[i] || !node.outputs.some((o) => toY.has(o.id))) {
      onPath[i] = false;
      continue;
    }
    for (const t of Object.values(node.inputs)) toY.add(t.id);
  }
  // What ops off the path saved (dropout's noise, masks built from the inputs, dead branches) is never
  // read: free it before the backward adds its gradients to the peak.
  for (const [i, node] of tape.entries()) if (!onPath[i]) for (const t of node.saved) t.dispose();
  const wanted = new Set(variables.map((v) => v.id));
  const grad = new Map<number, tf.Tensor>([[y.id, tf.onesLike(y)]]);
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (!onPath[i]) continue;
    if (!node.gradient)
      throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const dys = node.outputs.map((o) => grad.get(o.id) ?? null);
    const inputGrads = node.gradient(dys);
    for (const [name, x] of Object.entries(node.inputs)) {
      if (!fromVar.has(x.id) || !toY.has(x.id)) continue;
      if (!inputGrads[name])
        throw new Error(
          `Cannot backprop through input ${node.kernelName}.${name}. Available gradients found: ${Object.keys(inputGrads)}.`,
        );
      let dx = tf.tidy(() => inputGrads[name]!());
      if (dx.dtype !== 'float32')
        throw new Error(
          `Error in gradient for op ${node.kernelName}: the gradient of input ${name} must be float32`,
        );
      if (!tf.util.arraysEqual(dx.shape, x.shape))
        throw new Error(
          `Error in gradient for op ${node.kernelName}: the gradient of input '${name}' has shape '${dx.shape}', which does not match the input's shape '${x.shape}'`,
        );
      // A gradient function may hand back one of its dys as is; the dys are freed below.
      if (dys.includes(dx)) dx = dx.clone();
      const sum = grad.get(x.id);
      if (sum) {
        grad.set(x.id, tf.add(sum, dx));
        sum.dispose();
        dx.dispose();
      } else grad.set(x.id, dx);
    }
    // This op's outputs are differentiated: nothing upstream needs their gradients or its saved tensors.
    for (const o of node.outputs)
      if (!wanted.has(o.id)) {
        grad.get(o.id)?.dispose();
        grad.delete(o.id);
      }
    for (const t of node.saved) t.dispose();
  }
  const out: tf.NamedTensorMap = {};
  for (const v of variables) {
    const g = grad.get(v.id);
    if (g) out[v.name] = g;
  }
  for (const [id, g] of grad) if (!wanted.has(id)) g.dispose();
  return out;
}
