/**
 * A transcoder child process (the system ffmpeg) for the server's RTMP <-> WebRTC audio: bytes in on
 * stdin, bytes out on stdout, one per stream. This is the only place the server starts one.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hasCommand } from './exec.js';

/** stdin bytes a transcoder may have queued before input is dropped (it cannot keep up) */
const MAX_STDIN_BACKLOG = 512 * 1024;

export interface Transcoder {
  readonly pid: number | undefined;
  /** writes input; false when it was dropped (the child is gone or too far behind) */
  write(chunk: Buffer): boolean;
  /** CPU seconds (user + system) the child used so far, undefined when unknown */
  cpuSeconds(): number | undefined;
  /** stops the child (SIGTERM, SIGKILL after 2 s) */
  stop(): void;
}

export interface TranscoderEvents {
  onData(chunk: Buffer): void;
  /** the child ended by itself or failed to start: why, with the last lines of its stderr */
  onExit(reason: string): void;
}

let ffmpegKnown: Promise<boolean> | undefined;

/** True when ffmpeg is on PATH (checked once per process; SRSX_TRANSCODER=none pretends it is missing). */
export function ffmpegAvailable(): Promise<boolean> {
  if (process.env.SRSX_TRANSCODER === 'none') return Promise.resolve(false);
  ffmpegKnown ??= hasCommand('ffmpeg');
  return ffmpegKnown;
}

/** Starts `ffmpeg args…` with piped stdin/stdout. */
export function startFfmpeg(args: readonly string[], events: TranscoderEvents): Transcoder {
  let child: ChildProcessWithoutNullStreams;
  let ended = false;
  let stderr = '';
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    events.onExit(tail ? `${reason}: ${tail}` : reason);
  };
  try {
    child = spawn('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    queueMicrotask(() => end(`ffmpeg did not start (${(err as Error).message})`));
    return { pid: undefined, write: () => false, cpuSeconds: () => undefined, stop: () => undefined };
  }
  child.stdout.on('data', (d: Buffer) => events.onData(d));
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  child.stdin.on('error', () => undefined); // EPIPE when the child dies; 'exit' reports it
  child.on('error', (err) => end(`ffmpeg did not start (${(err as NodeJS.ErrnoException).code ?? err.message})`));
  child.on('exit', (code, signal) => end(signal ? `ffmpeg ended by ${signal}` : `ffmpeg exited with ${code}`));
  const pid = child.pid;
  let killTimer: NodeJS.Timeout | undefined;
  return {
    pid,
    write(chunk: Buffer): boolean {
      if (ended || child.stdin.destroyed || child.stdin.writableLength > MAX_STDIN_BACKLOG) return false;
      child.stdin.write(chunk);
      return true;
    },
    cpuSeconds(): number | undefined {
      if (pid === undefined || ended) return undefined;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, USER_HZ 100
      } catch {
        return undefined;
      }
    },
    stop(): void {
      if (ended) return;
      ended = true;
      child.stdin.destroy();
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 2000);
      killTimer.unref();
      child.once('exit', () => clearTimeout(killTimer));
    },
  };
}
