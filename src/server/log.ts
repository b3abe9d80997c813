/**
 * The server's logger, honouring srs_log_tank (console|file), srs_log_level and srs_log_file.
 * Lines look like SRS's: `[2026-01-02 03:04:05.678][Trace][12345][cid] message`.
 * A disabled level costs one comparison; an enabled one builds one string and writes it
 * (console: process.stdout/stderr; file: ordered batched appends, reopenable for logrotate / SIGHUP).
 *
 * Every message passes through logSafe() here, centrally: what a client sends (stream names, tcUrl,
 * URLs, headers) cannot forge a log line (control characters and newlines are escaped) nor grow the
 * log without bound (each space-separated field is capped at MAX_FIELD chars, a message at MAX_MESSAGE,
 * with the original length). A failed reopen (ENOSPC, EACCES, a path that became a file) keeps
 * the old file and says so on stderr: it never stops the server.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { UserError } from '../errors.js';
import type { ServerConfig } from './config/types.js';

/** longest space-separated field of a logged message (a tcUrl, a stream name, a URL) */
export const MAX_FIELD = 256;
/** longest logged message */
export const MAX_MESSAGE = 2048;
/** C0 and C1 control characters, DEL, and the Unicode line/paragraph separators */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LONG_FIELD = new RegExp(`[^ ]{${MAX_FIELD + 1},}`, 'g');

function escapeChar(c: string): string {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default: {
      const code = c.charCodeAt(0);
      return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    }
  }
}

/**
 * A message made safe for one log line: control characters escaped (\n, \x1b, \u2028), fields
 * longer than MAX_FIELD cut to MAX_FIELD chars + `…(N chars)`, the whole capped at MAX_MESSAGE.
 * Short clean messages (nearly all) cost one regex test.
 */
export function logSafe(msg: string): string {
  if (msg.length <= MAX_FIELD && !UNSAFE_TEST.test(msg)) return msg;
  const total = msg.length;
  // no need to look at more than a message can show (a 4 MB tcUrl stays a 4 MB string once)
  let s = total > MAX_MESSAGE * 4 ? msg.slice(0, MAX_MESSAGE * 4) : msg;
  s = s.replace(UNSAFE, escapeChar);
  s = s.replace(LONG_FIELD, (f) => `${f.slice(0, MAX_FIELD)}…(${f.length} chars)`);
  if (s.length > MAX_MESSAGE || total > MAX_MESSAGE * 4) s = `${s.slice(0, MAX_MESSAGE)}…(message of ${total} chars)`;
  return s;
}

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
    try {
      this.fd = this.open();
    } catch (err) {
      throw new UserError(`cannot open the log file ${file}: ${(err as Error).message}`, {
        hint: 'make its directory writable, set srs_log_file to a writable path, or use srs_log_tank console',
      });
    }
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
      let next: number | undefined;
      try {
        next = this.open();
      } catch (err) {
        // keep writing to the file we have: a full disk or a bad path must not stop the server
        const msg = `log reopen of ${this.file} failed (${(err as Error).message}): still writing to the file opened before`;
        process.stderr.write(`srsx: ${msg}\n`);
        this.pending.push(`[log] ${msg}\n`);
      }
      if (next !== undefined) {
        try {
          fs.closeSync(this.fd);
        } catch {
          // already closed
        }
        this.fd = next;
      }
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
    const line = `[${stamp()}][${TAG[level]}][${pid}][${cid === undefined ? '' : logSafe(cid)}] ${logSafe(msg)}\n`;
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

/**
 * The console's stderr for warn/error lines when bin/srsx filters the server's fd 2 (it drops Node's
 * inspector notices there, see bin/srsx): SRSX_LOG_STDERR_FD names the descriptor that is the
 * wrapper's own stderr, so log lines reach it directly, in order. Undefined (use process.stderr)
 * when not set or not usable. The variable is removed so no child process inherits it.
 */
export function logStderrFromEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.WritableStream | undefined {
  const raw = env.SRSX_LOG_STDERR_FD;
  delete env.SRSX_LOG_STDERR_FD;
  if (!raw || !/^\d+$/.test(raw)) return undefined;
  const fd = Number(raw);
  try {
    const st = fs.fstatSync(fd);
    if (st.isFIFO() || st.isSocket()) {
      const sock = new net.Socket({ fd, readable: false, writable: true });
      sock.on('error', () => {}); // the reader has gone: nothing more to tell
      return sock;
    }
    return new Writable({
      write(chunk: Buffer, _enc, done) {
        try {
          fs.writeSync(fd, chunk);
        } catch {
          // a full disk or a closed descriptor must not stop the server
        }
        done();
      },
    });
  } catch {
    return undefined;
  }
}

