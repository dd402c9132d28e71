import type { DownloadProgress } from '../hub/download.js';

/**
 * Loading events, as transformers.js' `progress_callback` receives them: per file 'initiate', then (when it
 * is fetched) 'download' and 'progress', then 'done'; once the pipeline can run, 'ready'.
 */
export type ProgressEvent =
  | { status: 'initiate' | 'download' | 'done'; name: string; file: string }
  | { status: 'progress'; name: string; file: string; progress: number; loaded: number; total: number }
  | { status: 'ready'; task: string; model: string };

export type ProgressCallback = (event: ProgressEvent) => void;

/**
 * Turns the hub downloader's per-chunk reports into transformers.js events for model `name`, and
 * remembers which files were fetched so `announceLocal` does not report them twice.
 */
export class ProgressReporter {
  private readonly seen = new Set<string>();
  constructor(
    readonly name: string,
    private readonly callback?: ProgressCallback,
  ) {}

  /** For HubOptions.onProgress. */
  readonly onDownload = (p: DownloadProgress): void => {
    if (!this.callback) return;
    const { name } = this;
    if (!this.seen.has(p.file)) {
      this.seen.add(p.file);
      this.callback({ status: 'initiate', name, file: p.file });
      this.callback({ status: 'download', name, file: p.file });
    }
    const total = p.totalBytes ?? p.loadedBytes;
    const progress = total ? (100 * p.loadedBytes) / total : 100;
    this.callback({ status: 'progress', name, file: p.file, progress, loaded: p.loadedBytes, total });
    if (p.done) this.callback({ status: 'done', name, file: p.file });
  };

  /** Files read from a local folder (or the cache) are reported as loaded whole. */
  announceLocal(files: { file: string; bytes: number }[]): void {
    if (!this.callback) return;
    const { name } = this;
    for (const { file, bytes } of files) {
      if (this.seen.has(file)) continue;
      this.seen.add(file);
      this.callback({ status: 'initiate', name, file });
      this.callback({ status: 'progress', name, file, progress: 100, loaded: bytes, total: bytes });
      this.callback({ status: 'done', name, file });
    }
  }

  ready(task: string): void {
    this.callback?.({ status: 'ready', task, model: this.name });
  }
}
