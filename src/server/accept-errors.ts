/**
 * Errors a listening server reports after it is up: accept() failing with EMFILE/ENFILE,
 * ECONNABORTED and the like. Node emits them as the server's 'error' event, which with no listener
 * kills the process. Here they are counted and logged at most once per second per kind, with the
 * count, and the server keeps serving: connections are accepted again as soon as descriptors are free.
 * Connections refused for max_connections are logged the same way (refused()).
 *
 * Most EMFILEs never reach JavaScript: libuv keeps a spare descriptor, and on EMFILE frees it to
 * accept and close the waiting connections (clients see a reset). So watch() also checks, once a
 * second and only when the connections held come near the open-files limit, whether the process is
 * at its limit, and logs that once a second with the counts.
 */
import type net from 'node:net';
import { countOpenFdsSync, readNofileSoftSync } from '../host/proc-pid.js';
import { hostRoot } from '../host/root.js';
import type { Logger } from './log.js';

export const ACCEPT_ERROR_LOG_INTERVAL_MS = 1000;

export class AcceptErrors {
  /** events since the last line, by key, with the line that reports n of them */
  private readonly counts = new Map<string, { n: number; line: (n: number) => string; level: 'warn' | 'error' }>();
  private timer: NodeJS.Timeout | undefined;
  /** every accept error so far, by code (for tests and the log) */
  readonly total = new Map<string, number>();

  constructor(private readonly log: Logger) {}

  /** Keeps `server` alive through its accept errors. */
  attach(server: net.Server, what: string): void {
    server.on('error', (err: NodeJS.ErrnoException) => this.onError(err, what));
  }

  onError(err: NodeJS.ErrnoException, what: string): void {
    const key = `${what} ${err.code ?? err.message}`;
    this.total.set(err.code ?? 'other', (this.total.get(err.code ?? 'other') ?? 0) + 1);
    const fds = err.code === 'EMFILE' || err.code === 'ENFILE';
    const detail = !fds ? ` (${err.message})` : '';
    this.count(key, (n) => `accept on ${key}: ${n} connection${n === 1 ? '' : 's'} refused in the last second${detail}` +
      (fds ? ': out of file descriptors; raise the open-files limit (ulimit -n, LimitNOFILE=) or lower max_connections' : ''));
  }

  /** A connection closed at once because max_connections is reached: logged as accept errors are (once a second, with the count). */
  refused(what: string, from: string, max: number): void {
    this.refusedTotal++;
    const cause = `max_connections ${max} reached; raise max_connections (and the open-files limit) or add servers`;
    this.count(`max_connections ${what}`, (n) => n === 1 ? `refuse ${what} connection from ${from}: ${cause}` :
      `refuse ${what} connections: ${n} in the last second, the last from ${from}: ${cause}`, 'warn');
  }

  /** connections refused for max_connections since start */
  refusedTotal = 0;

  /** The first event of a second is logged at once, the rest of that second in one line (with the count) after it. */
  private count(key: string, line: (n: number) => string, level: 'warn' | 'error' = 'error'): void {
    if (!this.timer) {
      this.log[level](line(1));
      this.timer = setTimeout(() => this.flush(), ACCEPT_ERROR_LOG_INTERVAL_MS);
      this.timer.unref();
      return;
    }
    const c = this.counts.get(key);
    if (c) {
      c.n++;
      c.line = line; // the newest event's details
    } else this.counts.set(key, { n: 1, line, level });
  }

  private flush(): void {
    this.timer = undefined;
    if (this.counts.size === 0) return;
    for (const c of this.counts.values()) this.log[c.level](c.line(c.n));
    this.counts.clear();
    this.timer = setTimeout(() => this.flush(), ACCEPT_ERROR_LOG_INTERVAL_MS);
    this.timer.unref();
  }

  private watcher: NodeJS.Timeout | undefined;

  /**
   * Once a second: when `held()` (connections open) plus a margin comes within 10% of the soft
   * limit, count the open descriptors; at the limit, log an error with both numbers.
   */
  watch(held: () => number, everyMs = ACCEPT_ERROR_LOG_INTERVAL_MS): void {
    const root = hostRoot();
    let limit: number | undefined;
    this.watcher = setInterval(() => {
      // the limit can change at runtime (prlimit, srsx tune --nofile): one small read a second,
      // which itself fails with EMFILE when no descriptor is left
      const read = readNofileSoftSync(root);
      let full = read === 'EMFILE';
      if (typeof read === 'number') limit = read;
      if (!full) {
        if (limit === undefined || !Number.isFinite(limit) || held() + 64 < limit * 0.9) return;
        const count = countOpenFdsSync(root);
        full = count === 'EMFILE' || (count !== undefined && count >= limit - 1);
      }
      if (!full) return;
      this.log.error(`accept: EMFILE: all ${limit ?? '?'} file descriptors are open (${held()} connections): new connections are refused at accept; ` +
        'raise the open-files limit (ulimit -n, LimitNOFILE=) or lower max_connections');
    }, everyMs);
    this.watcher.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = undefined;
  }
}
