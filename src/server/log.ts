/**
 * The server's logger, honouring srs_log_tank (console|file), srs_log_level and srs_log_file.
 * Lines look like SRS's: `[2026-01-02 03:04:05.678][Trace][12345][cid] message`.
 * A disabled level costs one comparison; an enabled one builds one string and writes it
 * (console: process.stdout/stderr; file: ordered batched appends, reopenable for logrotate / SIGHUP).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ServerConfig } from './config/types.js';

export type LogLevel = 'verbose' | 'info' | 'trace' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { verbose: 0, info: 1, trace: 2, warn: 3, error: 4 };
const TAG: Record<LogLevel, string> = { verbose: 'Verb', info: 'Debug', trace: 'Trace', warn: 'Warn', error: 'Error' };

export interface Logger {
  verbose(msg: string, cid?: string): void;
  info(msg: string, cid?: string): void;
  trace(msg: string, cid?: string): void;
  warn(msg: string, cid?: string): void;
  error(msg: string, cid?: string): void;
  /** true when `level` would be written (guard expensive message building with it) */
  enabled(level: LogLevel): boolean;
  /** reopen the log file (after logrotate moved it); no-op on console */
  reopen(): void;
  /** flush and close the file; further lines are dropped */
  close(): Promise<void>;
}

export interface LoggerOptions {
  /** where console lines go; default process.stdout (warn/error to process.stderr) */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** resolve a relative srs_log_file against this directory (default process.cwd()) */
  cwd?: string;
  /** clock, for tests */
  now?: () => number;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** Cached "YYYY-MM-DD HH:MM:SS" per second; only the milliseconds change within a second. */
function makeStamp(now: () => number): () => string {
  let lastSec = -1;
  let prefix = '';
  return () => {
    const t = now();
    const sec = Math.floor(t / 1000);
    if (sec !== lastSec) {
      lastSec = sec;
      const d = new Date(sec * 1000);
      prefix = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
    }
    const ms = t - sec * 1000;
    return `${prefix}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
  };
}

/** Cap on lines waiting for the disk: past it lines are dropped (and counted) so memory stays bounded. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

/**
 * Appends lines to a file in order: one write in flight at a time, lines arriving meanwhile are
 * batched into the next write; reopen() takes effect between writes, so no line is reordered or lost.
 */
class FileSink {
  private fd: number;
  private pending: string[] = [];
  private pendingBytes = 0;
  private writing = false;
  private reopenWanted = false;
  private dropped = 0;
  private reported = false;
  private idle: Array<() => void> = [];

  constructor(private readonly file: string) {
    this.fd = this.open();
  }

  private open(): number {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    return fs.openSync(this.file, 'a');
  }

  write(line: string): void {
    if (this.pendingBytes + line.length > MAX_PENDING_BYTES) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (!this.writing) this.flush();
  }

  reopen(): void {
    this.reopenWanted = true;
    if (!this.writing) this.flush();
  }

  private flush(): void {
    if (this.reopenWanted) {
      this.reopenWanted = false;
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = this.open();
    }
    if (this.pending.length === 0) {
      const waiters = this.idle;
      this.idle = [];
      for (const w of waiters) w();
      return;
    }
    if (this.dropped > 0) {
      this.pending.push(`[log] dropped ${this.dropped} lines while the disk was slow\n`);
      this.dropped = 0;
    }
    const buf = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    this.writing = true;
    this.writeAll(buf, 0);
  }

  private writeAll(buf: Buffer, off: number): void {
    fs.write(this.fd, buf, off, buf.length - off, null, (err, n) => {
      if (err) {
        if (!this.reported) process.stderr.write(`srsx: log file ${this.file}: ${err.message}\n`);
        this.reported = true;
      } else if (off + n < buf.length) {
        this.writeAll(buf, off + n);
        return;
      }
      this.writing = false;
      this.flush();
    });
  }

  /** Resolves when every line written so far is on disk, then closes the file. */
  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        try {
          fs.closeSync(this.fd);
        } catch {
          // already closed
        }
        resolve();
      };
      if (!this.writing && this.pending.length === 0) done();
      else this.idle.push(done);
    });
  }
}

export function createLogger(config: Pick<ServerConfig, 'log'>, opts: LoggerOptions = {}): Logger {
  const min = RANK[config.log.level];
  const stamp = makeStamp(opts.now ?? Date.now);
  const pid = process.pid;
  const file = config.log.tank === 'file' ? new FileSink(path.resolve(opts.cwd ?? process.cwd(), config.log.file)) : undefined;
  let closed = false;
  const out = opts.stdout ?? process.stdout;
  const err = opts.stderr ?? process.stderr;

  const write = (level: LogLevel, msg: string, cid?: string) => {
    if (RANK[level] < min || closed) return;
    const line = `[${stamp()}][${TAG[level]}][${pid}][${cid ?? ''}] ${msg}\n`;
    if (file) file.write(line);
    else (RANK[level] >= RANK.warn ? err : out).write(line);
  };

  return {
    verbose: (m, c) => write('verbose', m, c),
    info: (m, c) => write('info', m, c),
    trace: (m, c) => write('trace', m, c),
    warn: (m, c) => write('warn', m, c),
    error: (m, c) => write('error', m, c),
    enabled: (level) => RANK[level] >= min,
    reopen: () => {
      if (file && !closed) file.reopen();
    },
    close: () => {
      closed = true;
      return file ? file.close() : Promise.resolve();
    },
  };
}
