/**
 * How a server process is told to stop, shared by `srsx serve` and the `--workers` supervisor:
 * SIGTERM/SIGINT stop gracefully, SIGQUIT at once; and when bin/srsx (the parent, over an IPC
 * channel) is gone, even by SIGKILL, the server stops instead of living on as an orphan.
 */
export type StopHow = 'graceful' | 'fast';

export function onStopSignals(
  stop: (how: StopHow, why: string) => Promise<void>,
  log: { warn(msg: string): void },
  /** after the parent is gone, exit anyway this long after the graceful stop began */
  orphanExitMs: number,
): void {
  process.on('SIGTERM', () => void stop('graceful', 'SIGTERM'));
  process.on('SIGINT', () => void stop('graceful', 'SIGINT'));
  process.on('SIGQUIT', () => void stop('fast', 'SIGQUIT'));
  if (!process.channel) return;
  process.channel.unref();
  const orphaned = () => {
    log.warn('the srsx wrapper (parent process) is gone: stopping');
    setTimeout(() => process.exit(0), orphanExitMs).unref();
    void stop('graceful', 'parent exit');
  };
  if (!process.connected) orphaned();
  else process.once('disconnect', orphaned);
}
