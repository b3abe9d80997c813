import cliProgress from 'cli-progress';

/**
 * A progress bar on stderr counting the seconds of `ms` (only on a terminal). Returns the
 * function that stops and clears it.
 */
export function startProgress(label: string, ms: number): () => void {
  if (!process.stderr.isTTY) return () => {};
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total}s`, stream: process.stderr, clearOnComplete: true }, cliProgress.Presets.shades_classic);
  const total = Math.max(1, Math.round(ms / 1000));
  bar.start(total, 0);
  const t0 = Date.now();
  const timer = setInterval(() => bar.update(Math.min(total, Math.round((Date.now() - t0) / 1000))), 250);
  return () => {
    clearInterval(timer);
    bar.stop();
  };
}

/** A progress bar over `ms` while `work` runs. */
export async function withProgress<T>(label: string, ms: number, work: Promise<T>): Promise<T> {
  const stop = startProgress(label, ms);
  try {
    return await work;
  } finally {
    stop();
  }
}
