/**
 * A runner that runs the tasks handed to it one after another, in call order; a task that fails does not
 * stop the next. tfjs keeps one global backend: two starts interleaving (two pipelines created at once in a
 * page) would have the second see the first's backend half-started, fall back and switch the global backend
 * under the first's tensors.
 */
export function serialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = last.then(task, task);
    last = run.catch(() => undefined);
    return run;
  };
}
