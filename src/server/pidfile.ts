/**
 * The pid file (SRS's `pid ./objs/srs.pid`): written at start, removed at stop. Refuses to start
 * when the file names another live server, so two servers never share one pid file. A pid file
 * left by a crash whose pid now belongs to an unrelated program (after a reboot, pids are reused)
 * is stale: its holder's command line (/proc/PID/cmdline) is not srsx serve or SRS, so it is
 * replaced, with a note.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.js';
import { readCmdlineSync } from '../host/proc-pid.js';
import { hostRoot } from '../host/root.js';

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
 * True when argv is a server that may own a pid file: srsx serve (bin/srsx or dist/cli/main.js,
 * run by node) or SRS itself. An unreadable command line (undefined) counts as a server: refuse
 * rather than take the file from something we cannot see.
 */
export function isServerCommand(argv: readonly string[] | undefined): boolean {
  if (argv === undefined) return true;
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  if (argv.length > 0 && base(argv[0]!) === 'srs') return true;
  const cli = argv.findIndex((a) => base(a) === 'srsx' || a.endsWith('dist/cli/main.js'));
  return cli >= 0 && argv.slice(cli + 1).includes('serve');
}

/**
 * Writes our pid to `file` (a relative path resolves against `cwd`), creating its directory.
 * Throws a UserError when another live server holds it; `onStale` hears about a pid file taken
 * over from an unrelated process. Returns the absolute path.
 */
export function writePidFile(
  file: string,
  opts: { cwd?: string; pid?: number; cmdline?: (pid: number) => string[] | undefined; onStale?: (note: string) => void } = {},
): string {
  const abs = path.resolve(opts.cwd ?? process.cwd(), file);
  const me = opts.pid ?? process.pid;
  const holder = readPidFile(abs);
  const cmdline = opts.cmdline ?? ((pid: number) => readCmdlineSync(hostRoot(), pid));
  const holderArgv = holder !== undefined && holder !== me && alive(holder) ? cmdline(holder) : null;
  if (holderArgv !== null && !isServerCommand(holderArgv)) {
    opts.onStale?.(`pid file ${file} named process ${holder} (${holderArgv!.join(' ').slice(0, 80)}), which is not a server: stale, replaced`);
  } else if (holderArgv !== null) {
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
