import { UserError } from '../errors.js';
import { readPidFile } from '../host/process.js';
import { readProcess } from '../host/proc-process.js';
import { isNodeCommand, readCmdlineSync, readExe } from '../host/proc-pid.js';
import { hostRoot } from '../host/root.js';

export const SERVER_PIDFILE = './objs/srs.pid';

/** The process to profile: --pid, else the srsx server's pid file. */
export async function profileTarget(opts: { pid?: string; pidfile?: string }): Promise<{ pid: number; name: string }> {
  const root = hostRoot();
  let pid: number;
  if (opts.pid !== undefined) {
    if (!/^\d+$/.test(opts.pid)) throw new UserError(`--pid '${opts.pid}' is not a process id`);
    pid = Number(opts.pid);
  } else {
    pid = await readPidFile(root, opts.pidfile ?? SERVER_PIDFILE).catch(() => {
      throw new UserError(`no running srsx server found (${opts.pidfile ?? SERVER_PIDFILE} does not exist)`, { hint: 'start it with `srsx serve` in this directory, or give --pid PID / --pidfile FILE' });
    });
  }
  const p = await readProcess(root, pid).catch(() => {
    throw new UserError(`no process with pid ${pid}`, { hint: opts.pid ? 'check the pid (ps -p PID)' : `the pid file is stale: is the server running?` });
  });
  return { pid, name: p.name };
}

/**
 * Refuses a pid that is not a Node.js process before anything signals it: SIGUSR1 opens Node's
 * inspector, but its default action kills any other program (`srsx profile --cpu --pid` of a
 * `sleep` used to kill it).
 */
export async function requireNodeProcess(pid: number, flag: string): Promise<void> {
  const root = hostRoot();
  const argv = readCmdlineSync(root, pid);
  if (argv === undefined) throw new UserError(`no process with pid ${pid}`, { hint: 'check the pid (ps -p PID)' });
  const exe = await readExe(root, pid);
  if (!isNodeCommand(argv, exe)) {
    const what = (exe ?? argv[0] ?? '?').split('/').pop();
    throw new UserError(`pid ${pid} (${what}) is not a Node.js process: ${flag} works through the V8 inspector, and its signal (SIGUSR1) would kill it`, {
      hint: 'give the pid of srsx serve (or another node process); for any process use --perf 30s or --strace 10s',
    });
  }
}
