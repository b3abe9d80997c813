/**
 * `srsx serve` called as SRS 7 is called (`srs -e`, `srs -c conf`, `srs -t -c conf`, `srs -v`):
 * what happens between loading the config and starting the server, in SRS's order —
 * SRS_WORK_DIR / work_dir (chdir after the config is read), `daemon on` (the server detaches
 * and the caller exits 0 once the pid file names it), the server id (SRS_SERVER_ID /
 * server_id / the id file next to the pid file).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { ServerConfig } from '../server/config/types.js';
import { readPidFile } from '../server/pidfile.js';
import { resolveServerId } from '../server/server-id.js';

/** Set in the detached child of `daemon on`, so it runs the server instead of detaching again. */
export const DAEMON_CHILD_ENV = 'SRSX_DAEMON_CHILD';
const DAEMON_START_TIMEOUT_MS = 15_000;

/** SRS_WORK_DIR / work_dir: chdir there (after the config was read, as SRS). Returns the new cwd or undefined. */
export function enterWorkDir(config: ServerConfig): string | undefined {
  if (!config.workDir) return undefined;
  const dir = path.resolve(config.workDir);
  try {
    process.chdir(dir);
  } catch (err) {
    throw new UserError(`cannot enter work_dir ${config.workDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: 'create the directory, or fix SRS_WORK_DIR / work_dir in the config',
    });
  }
  return dir;
}

/** Whether this process should detach (`daemon on` given, and not already the detached child). */
export function shouldDaemonize(config: ServerConfig): boolean {
  return config.daemon && config.daemonSet && process.env[DAEMON_CHILD_ENV] !== '1';
}

/**
 * `daemon on`, as SRS: the server runs in the background, detached from the terminal (its own
 * session, stdin/stdout/stderr to /dev/null: log to a file), and this process exits 0 once the
 * pid file names the server. The child re-runs the same command line from the same directory.
 * A child that exits or does not write the pid file in 15 s is an error (exit 2, one line).
 */
export async function daemonize(config: ServerConfig, startCwd: string): Promise<never> {
  const pidFile = path.resolve(config.workDir ? path.resolve(startCwd, config.workDir) : startCwd, config.pidFile);
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    cwd: startCwd,
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
  });
  let exited: number | null | undefined;
  child.once('exit', (code, signal) => {
    exited = code ?? (signal ? 128 : 1);
  });
  child.unref();
  const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (exited !== undefined) {
      throw new UserError(`daemon on: the server exited at start (code ${exited})`, {
        hint: `run it in the foreground to see why: SRS_DAEMON=off ${process.argv.slice(1).join(' ')}`,
      });
    }
    if (readPidFile(pidFile) === child.pid) {
      process.stdout.write(`srsx serve: daemon on: running in the background, pid ${child.pid} (pid file ${pidFile})\n`);
      process.exit(0);
    }
  }
  try {
    if (child.pid) process.kill(child.pid, 'SIGTERM');
  } catch {
    // gone
  }
  throw new UserError(`daemon on: the server did not write its pid file ${pidFile} within ${DAEMON_START_TIMEOUT_MS / 1000} s`, {
    hint: `run it in the foreground to see why: SRS_DAEMON=off ${process.argv.slice(1).join(' ')}`,
  });
}

/** The server id (after the chdir: the id file is next to the pid file, relative to the work dir). */
export function serverIdFor(config: ServerConfig, onNote: (note: string) => void): string {
  return resolveServerId({ explicit: config.serverId, pidFile: config.pidFile, onNote });
}

/** `srs -v` / `-V`: the version alone on stdout, exit 0. */
export function printVersion(version: string): void {
  process.stdout.write(`${version}\n`);
}

/** `srs -g` / `-G`: the server signature. */
export function printSignature(version: string): void {
  process.stdout.write(`srsx/${version}\n`);
}
