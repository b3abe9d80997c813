/**
 * The pid file (SRS's `pid ./objs/srs.pid`): written at start, removed at stop. Refuses to start
 * when the file names another live process, so two servers never share one pid file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid recorded in `file`, or undefined when there is none (missing, empty or garbage). */
export function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Writes our pid to `file` (a relative path resolves against `cwd`), creating its directory.
 * Throws a UserError when another live process holds it. Returns the absolute path.
 */
export function writePidFile(file: string, opts: { cwd?: string; pid?: number } = {}): string {
  const abs = path.resolve(opts.cwd ?? process.cwd(), file);
  const me = opts.pid ?? process.pid;
  const holder = readPidFile(abs);
  if (holder !== undefined && holder !== me && alive(holder)) {
    throw new UserError(`pid file ${file} is held by running process ${holder}`, {
      hint: `stop that server first (kill ${holder}), or give this one another pid file with "pid ./objs/other.pid;"`,
    });
  }
  try {
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, `${me}\n`, { mode: 0o644 });
  } catch (err) {
    throw new UserError(`cannot write pid file ${file}: ${(err as Error).message}`, {
      hint: 'check that its directory is writable, or set "pid" in the config to a writable path',
    });
  }
  return abs;
}

/** Removes `file` if it still holds our pid (never someone else's). */
export function removePidFile(file: string, opts: { cwd?: string; pid?: number } = {}): void {
  const abs = path.resolve(opts.cwd ?? process.cwd(), file);
  const me = opts.pid ?? process.pid;
  if (readPidFile(abs) !== me) return;
  try {
    fs.unlinkSync(abs);
  } catch {
    // already gone
  }
}
