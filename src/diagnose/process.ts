import { UserError } from '../errors.js';
import { findByName, parentPid, readCmdline, readProcess, serverCandidates, type ProcessSnapshot } from '../host/proc-process.js';
import { tcpListenerPids } from '../host/proc-net.js';
import { readPidFile } from '../host/process.js';
import type { HostRoot } from '../host/root.js';
import { ok, type Report, type Verdict } from './report.js';

export const DEFAULT_PIDFILE = './objs/srs.pid';
export const DEFAULT_RTMP_PORT = 1935;

export interface FindServerOptions {
  pid?: string;
  pidfile?: string;
  /** the process listening on this TCP port */
  port?: string;
  name?: string;
  /** the server's config (-c): its pid file and RTMP port replace ./objs/srs.pid and 1935 */
  config?: string;
}

async function alive(root: HostRoot, pid: number): Promise<boolean> {
  return (await root.readOptional(`/proc/${pid}/stat`)) !== undefined;
}

function several(what: string, list: Array<{ pid: number; cmdline: string }>): UserError {
  return new UserError(`${list.length} processes ${what}: ${list.map((c) => `${c.pid} (${c.cmdline.slice(0, 80)})`).join(', ')}`, {
    hint: 'pick one with --pid PID, or --port PORT (the one listening there), --pidfile FILE or -c CONFIG',
  });
}

async function describe(root: HostRoot, pids: readonly number[]): Promise<Array<{ pid: number; cmdline: string }>> {
  return Promise.all(pids.map(async (pid) => ({ pid, cmdline: ((await readCmdline(root, pid)) ?? ['?']).join(' ') })));
}

/** Of the pids holding a listening socket, the ones that are not the parent of another (a wrapper that inherited it). */
async function innermost(root: HostRoot, pids: readonly number[]): Promise<number[]> {
  const parents = new Set<number>();
  for (const p of pids) parents.add((await parentPid(root, p)) ?? 0);
  return pids.filter((p) => !parents.has(p));
}

async function listener(root: HostRoot, port: number): Promise<number[]> {
  return innermost(root, (await tcpListenerPids(root, port)).filter((p) => p !== process.pid));
}

/**
 * The server to look at: --pid, --pidfile, --port (the process listening there), --name; without
 * them the pid file of the config (-c, else ./objs/srs.pid), else the process listening on the config's
 * RTMP port (1935), else the one process whose command line is `srsx serve` or `srs` (never the
 * bin/srsx wrapper: serve runs as its child). Several candidates: an error listing them.
 */
export async function resolveServerPid(root: HostRoot, opts: FindServerOptions, required: boolean): Promise<number | undefined> {
  if (opts.pid !== undefined) {
    if (!/^\d+$/.test(opts.pid)) throw new UserError(`--pid '${opts.pid}' is not a process id`, { hint: 'e.g. --pid $(pidof srs)' });
    await readProcess(root, Number(opts.pid));
    return Number(opts.pid);
  }
  if (opts.pidfile !== undefined) {
    const pid = await readPidFile(root, opts.pidfile);
    if (!(await alive(root, pid))) throw new UserError(`pid file ${opts.pidfile} names pid ${pid}, which is not running`, { hint: 'start the server, or give --pid PID or --port PORT' });
    return pid;
  }
  if (opts.port !== undefined) {
    if (!/^\d+$/.test(opts.port) || Number(opts.port) < 1 || Number(opts.port) > 65535) throw new UserError(`--port '${opts.port}' is not a TCP port`, { hint: 'e.g. --port 1935' });
    const pids = await listener(root, Number(opts.port));
    if (pids.length === 0) throw new UserError(`no process listens on TCP port ${opts.port}`, { hint: 'check with: ss -ltnp, or give --pid PID' });
    if (pids.length > 1) throw several(`listen on TCP port ${opts.port}`, await describe(root, pids));
    return pids[0];
  }
  if (opts.name !== undefined) {
    const pids = (await findByName(root, [opts.name])).filter((p) => p !== process.pid);
    if (pids.length === 0) throw new UserError(`no process named ${opts.name}`, { hint: 'check with: pgrep -a NAME, or give --pid' });
    const inner = await innermost(root, pids);
    if (inner.length > 1) throw several(`are named ${opts.name}`, await describe(root, inner));
    return inner[0];
  }
  let pidfile = DEFAULT_PIDFILE;
  let port = DEFAULT_RTMP_PORT;
  if (opts.config !== undefined) {
    const { loadConfig } = await import('../server/config/index.js');
    const conf = loadConfig({ file: opts.config });
    pidfile = conf.pidFile;
    port = conf.listen[0]?.port ?? DEFAULT_RTMP_PORT;
  }
  const tried: string[] = [];
  try {
    const pid = await readPidFile(root, pidfile);
    if (await alive(root, pid)) return pid;
    tried.push(`${pidfile} names pid ${pid}, which is not running`);
  } catch {
    tried.push(`no ${pidfile}`);
  }
  const listening = await listener(root, port);
  if (listening.length === 1) return listening[0];
  if (listening.length > 1) throw several(`listen on TCP port ${port}`, await describe(root, listening));
  tried.push(`nothing listens on ${port}`);
  const candidates = await serverCandidates(root, [process.pid]);
  if (candidates.length === 1) return candidates[0]!.pid;
  if (candidates.length > 1) throw several('run srsx serve or srs', candidates);
  tried.push('no srsx serve or srs process');
  if (required) throw new UserError(`no server process found (${tried.join(', ')})`, { hint: 'give --pid PID, --port PORT, --pidfile FILE or -c CONFIG' });
  return undefined;
}

/**
 * The fix for a low open-files limit that can work here: up to the hard limit any root can raise the
 * soft one; above it needs CAP_SYS_RESOURCE (root in a container often lacks it: then the systemd
 * LimitNOFILE= line, which applies at the next start); never above fs.nr_open.
 */
export function nofileFix(b: Pick<ProcessSnapshot, 'pid' | 'fdsOpen' | 'fdLimitSoft' | 'fdLimitHard' | 'nrOpen' | 'canRaiseHard'>): string {
  const hard = b.fdLimitHard === 'unlimited' ? Infinity : Number(b.fdLimitHard);
  const soft = b.fdLimitSoft === 'unlimited' ? Infinity : Number(b.fdLimitSoft);
  const want = Math.min(Math.max(100000, b.fdsOpen * 4), b.nrOpen);
  const ceiling = want === b.nrOpen && want < Math.max(100000, b.fdsOpen * 4) ? ` (fs.nr_open ${b.nrOpen} is the ceiling: raise it with sysctl -w fs.nr_open=N for more)` : '';
  if (want <= hard || b.canRaiseHard) return `srsx tune --nofile ${want} --pid ${b.pid}${ceiling}`;
  const now = hard > soft ? `srsx tune --nofile ${hard} --pid ${b.pid} now (its hard limit); for more, ` : '';
  return `${now}raising the hard limit above ${b.fdLimitHard} needs CAP_SYS_RESOURCE, which srsx lacks here (root in a container): ` +
    `set LimitNOFILE=${want} in the server's systemd unit [Service] (or docker run --ulimit nofile=${want}:${want}) and restart it${ceiling}`;
}

export async function processReport(a: ProcessSnapshot, b: ProcessSnapshot, hz = 100): Promise<Report> {
  const intervalS = Math.max(0.001, (b.at - a.at) / 1000);
  const cpuPercent = Math.round((((b.cpuTicks - a.cpuTicks) / hz) / intervalS) * 1000) / 10;
  const limit = b.fdLimitSoft === 'unlimited' ? Infinity : Number(b.fdLimitSoft);
  const v: Verdict[] = [];
  if (b.fdsOpen / limit >= 0.8) v.push({ level: b.fdsOpen / limit >= 0.95 ? 'critical' : 'warn', reason: `${b.fdsOpen} of ${b.fdLimitSoft} file descriptors open (threshold 80%): new clients will be refused`, fix: nofileFix(b) });
  else if (limit < 10000) v.push({ level: 'warn', reason: `open-files limit ${b.fdLimitSoft} (threshold 10000): a live server needs one per client`, fix: nofileFix(b) });
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
      fdLimit: `${b.fdLimitSoft}:${b.fdLimitHard}`, nrOpen: b.nrOpen, canRaiseHardLimit: b.canRaiseHard, tcpEstablished: b.tcpEstablished,
    },
    verdicts: v,
  };
}
