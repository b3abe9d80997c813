import { UserError } from '../errors.js';
import { findByName, readProcess, type ProcessSnapshot } from '../host/proc-process.js';
import { readPidFile } from '../host/process.js';
import type { HostRoot } from '../host/root.js';
import { ok, type Report, type Verdict } from './report.js';

export const DEFAULT_PIDFILE = './objs/srs.pid';
const SERVER_NAMES = ['srs', 'nginx', 'node', 'srsx'];

/** The process to look at: --pid, --pidfile, --name, else the srsx server's pid file, else srs/nginx/node. */
export async function resolveServerPid(root: HostRoot, opts: { pid?: string; name?: string; pidfile?: string }, required: boolean): Promise<number | undefined> {
  if (opts.pid !== undefined) {
    if (!/^\d+$/.test(opts.pid)) throw new UserError(`--pid '${opts.pid}' is not a process id`, { hint: 'e.g. --pid $(pidof srs)' });
    await readProcess(root, Number(opts.pid));
    return Number(opts.pid);
  }
  if (opts.pidfile !== undefined) {
    const pid = await readPidFile(root, opts.pidfile);
    await readProcess(root, pid);
    return pid;
  }
  if (opts.name !== undefined) {
    const pids = await findByName(root, [opts.name]);
    if (pids.length === 0) throw new UserError(`no process named ${opts.name}`, { hint: 'check with: pgrep -a NAME, or give --pid' });
    return pids[0];
  }
  try {
    const pid = await readPidFile(root, DEFAULT_PIDFILE);
    await readProcess(root, pid);
    return pid;
  } catch {
    /* fall through */
  }
  for (const name of SERVER_NAMES) {
    const pids = (await findByName(root, [name])).filter((p) => p !== process.pid);
    if (pids.length) return pids[0];
  }
  if (required) throw new UserError('no server process found (no ./objs/srs.pid, no process named srs, nginx or node)', { hint: 'give --pid PID, --name NAME or --pidfile FILE' });
  return undefined;
}

export async function processReport(a: ProcessSnapshot, b: ProcessSnapshot, hz = 100): Promise<Report> {
  const intervalS = Math.max(0.001, (b.at - a.at) / 1000);
  const cpuPercent = Math.round((((b.cpuTicks - a.cpuTicks) / hz) / intervalS) * 1000) / 10;
  const limit = b.fdLimitSoft === 'unlimited' ? Infinity : Number(b.fdLimitSoft);
  const v: Verdict[] = [];
  if (b.fdsOpen / limit >= 0.8) v.push({ level: b.fdsOpen / limit >= 0.95 ? 'critical' : 'warn', reason: `${b.fdsOpen} of ${b.fdLimitSoft} file descriptors open (threshold 80%): new clients will be refused`, fix: `srsx tune --nofile ${Math.max(100000, b.fdsOpen * 4)} --pid ${b.pid}` });
  else if (limit < 10000) v.push({ level: 'warn', reason: `open-files limit ${b.fdLimitSoft} (threshold 10000): a live server needs one per client`, fix: `srsx tune --nofile 100000 --pid ${b.pid}` });
  if (b.nice > 0) v.push({ level: 'warn', reason: `nice ${b.nice} (threshold: above 0): the server yields CPU to other work`, fix: `srsx tune --nice -10 --pid ${b.pid}` });
  if (cpuPercent >= 90) v.push({ level: 'warn', reason: `${cpuPercent}% CPU over ${intervalS.toFixed(1)}s (threshold 90% of one core)`, fix: `srsx profile --perf 30s --pid ${b.pid}` });
  if (v.length === 0) v.push(ok(`fds ${b.fdsOpen}/${b.fdLimitSoft}, nice ${b.nice}, CPU ${cpuPercent}%`));
  return {
    kind: 'process',
    title: `process ${b.pid} (${b.name})`,
    intervalS,
    data: {
      pid: b.pid, name: b.name, state: b.state, nice: b.nice, priority: b.priority, threads: b.threads, cpusAllowed: b.cpusAllowed,
      lastCpu: b.lastCpu, cpuPercent, rssMB: Math.round((b.rssBytes / 1024 / 1024) * 10) / 10, fdsOpen: b.fdsOpen,
      fdLimit: `${b.fdLimitSoft}:${b.fdLimitHard}`, tcpEstablished: b.tcpEstablished,
    },
    verdicts: v,
  };
}
