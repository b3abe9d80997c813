/**
 * A long-running child that srsx starts and owns (the server under valgrind or with ASAN):
 * its output is passed on line by line, our SIGINT/SIGTERM stop it gracefully, and it is
 * stopped by its PID after `durationMs` once ready. Resolves when it has exited.
 */
import { spawn } from 'node:child_process';
import { missingCommand } from './exec.js';

export interface SupervisedRun {
  pid: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** whether the ready pattern was seen */
  ready: boolean;
  /** whether srsx stopped it (duration elapsed, or we were interrupted) */
  stoppedByUs: boolean;
}

export interface SuperviseOptions {
  env?: NodeJS.ProcessEnv;
  /** each line the child writes (stdout and stderr) */
  onLine?: (line: string) => void;
  /** a line matching this means the child is ready; onReady then runs and the duration starts */
  readyPattern?: RegExp;
  onReady?: (match: RegExpExecArray) => void;
  /** how long to wait for readiness before stopping it (default 300 s) */
  readyTimeoutMs?: number;
  /** stop it (SIGTERM) this long after it is ready; unset: run until it exits or we are interrupted */
  durationMs?: number;
  onStarted?: (pid: number) => void;
}

export function supervise(command: string, args: readonly string[], opts: SuperviseOptions = {}): Promise<SupervisedRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: SupervisedRun = { pid: child.pid ?? -1, exitCode: null, signal: null, ready: false, stoppedByUs: false };
    const timers: NodeJS.Timeout[] = [];
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      run.stoppedByUs = true;
      child.kill('SIGTERM');
      // graceful stop first; a process that ignores it for 60 s (valgrind's exit leak check is slow) is killed
      timers.push(setTimeout(() => child.kill('SIGKILL'), 60_000).unref());
    };
    const onSignal = () => stop();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const cleanup = () => {
      for (const t of timers) clearTimeout(t);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };

    child.once('error', (err) => {
      cleanup();
      reject((err as NodeJS.ErrnoException).code === 'ENOENT' ? missingCommand(command) : err);
    });
    child.once('spawn', () => {
      run.pid = child.pid!;
      opts.onStarted?.(run.pid);
    });
    if (opts.readyPattern) {
      timers.push(setTimeout(() => {
        if (!run.ready) stop();
      }, opts.readyTimeoutMs ?? 300_000));
    }
    const feed = (stream: NodeJS.ReadableStream) => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        for (const line of lines) onLine(line);
      });
      stream.on('end', () => rest && onLine(rest));
    };
    const onLine = (line: string) => {
      opts.onLine?.(line);
      if (run.ready || !opts.readyPattern) return;
      const m = opts.readyPattern.exec(line);
      if (!m) return;
      run.ready = true;
      opts.onReady?.(m);
      if (opts.durationMs !== undefined) timers.push(setTimeout(stop, opts.durationMs));
    };
    feed(child.stdout!);
    feed(child.stderr!);
    child.once('close', (code, signal) => {
      cleanup();
      run.exitCode = code;
      run.signal = signal;
      resolve(run);
    });
  });
}
