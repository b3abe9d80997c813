import { UserError } from '../errors.js';
import { runCommand } from './exec.js';
import type { HostRoot } from './root.js';

/** What `srsx tune` reads and sets on a running process. */
export interface ProcessSettings {
  pid: number;
  comm: string;
  threads: number[];
  cpus: string; // Cpus_allowed_list of the main thread
  nice: number;
  nofileSoft: string; // 'unlimited' or a number
  nofileHard: string;
  /** start time in clock ticks since boot (/proc/PID/stat field 22): a pid with another start time is another process */
  startTime: string;
  /** descriptors open now */
  fdsOpen: number;
}

/** Field 22 of /proc/PID/stat (start time), counted after the parenthesised comm. */
export function parseStatStart(stat: string): string {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

/** The start time of a running process, or undefined when no process has that pid. */
export async function readProcessStart(root: HostRoot, pid: number): Promise<string | undefined> {
  const stat = await root.readOptional(`/proc/${pid}/stat`);
  return stat ? parseStatStart(stat) : undefined;
}

/** Whether a capability is in the effective set of a /proc/PID/status text (CapEff, hex). */
export function hasCapability(status: string, bit: number): boolean {
  const m = /^CapEff:\s+([0-9a-f]+)/im.exec(status);
  if (!m) return false;
  return ((BigInt(`0x${m[1]}`) >> BigInt(bit)) & 1n) === 1n;
}

export const CAP_SYS_RESOURCE = 24;

/** What bounds an open-files limit on this host: fs.nr_open, and whether srsx itself may raise a hard limit. */
export interface FdCeilings {
  /** fs.nr_open: no process can have a limit above it */
  nrOpen: number;
  /** CAP_SYS_RESOURCE in srsx's own effective set (root in a container often lacks it) */
  canRaiseHard: boolean;
}

export async function readFdCeilings(root: HostRoot): Promise<FdCeilings> {
  const nrOpen = Number((await root.readOptional('/proc/sys/fs/nr_open'))?.trim() ?? 1048576);
  const status = await root.readOptional('/proc/self/status');
  return { nrOpen: Number.isFinite(nrOpen) && nrOpen > 0 ? nrOpen : 1048576, canRaiseHard: status ? hasCapability(status, CAP_SYS_RESOURCE) : false };
}

/** nice is field 19 of /proc/PID/stat (counted after the parenthesised comm). */
export function parseStatNice(stat: string): number {
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(after[16]);
}

export function parseLimitsNofile(limits: string): { soft: string; hard: string } {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!m) throw new Error('no "Max open files" line in /proc/PID/limits');
  return { soft: m[1]!, hard: m[2]! };
}

export async function readProcessSettings(root: HostRoot, pid: number): Promise<ProcessSettings> {
  const [status, stat, limits] = await Promise.all([
    root.readOptional(`/proc/${pid}/status`),
    root.readOptional(`/proc/${pid}/stat`),
    root.readOptional(`/proc/${pid}/limits`),
  ]);
  if (!status || !stat || !limits) throw new UserError(`no process with pid ${pid}`, { hint: 'check the pid (ps -p PID), or give --pidfile' });
  const nofile = parseLimitsNofile(limits);
  return {
    pid,
    comm: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?',
    threads: (await root.list(`/proc/${pid}/task`)).map(Number).filter((n) => n > 0),
    cpus: /^Cpus_allowed_list:\s+(\S+)/m.exec(status)?.[1] ?? '',
    nice: parseStatNice(stat),
    nofileSoft: nofile.soft,
    nofileHard: nofile.hard,
    startTime: parseStatStart(stat),
    fdsOpen: (await root.list(`/proc/${pid}/fd`)).length,
  };
}

async function mustRun(cmd: string, args: string[], what: string, permissionHint?: string): Promise<void> {
  const r = await runCommand(cmd, args);
  if (r.exitCode !== 0) {
    const detail = (r.stderr || r.stdout).trim().split('\n').pop() ?? '';
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const hint = /not permitted|permission/i.test(detail) ? (asRoot && permissionHint ? permissionHint : 'run as root (sudo)') : `${cmd} ${args.join(' ')} failed`;
    throw new UserError(`${what}: ${detail || `exit ${r.exitCode}`}`, { hint, exitCode: 3 });
  }
}

/** Every thread's affinity, as `taskset -a -p -c LIST PID`. */
export async function setProcessCpus(pid: number, cpus: string): Promise<void> {
  await mustRun('taskset', ['-a', '-p', '-c', cpus, String(pid)], `taskset pid ${pid} to CPUs ${cpus}`);
}

/** renice every thread (on Linux a nice value is per thread). */
export async function setProcessNice(root: HostRoot, pid: number, nice: number): Promise<void> {
  const tids = (await root.list(`/proc/${pid}/task`)).filter((t) => /^\d+$/.test(t));
  await mustRun('renice', ['-n', String(nice), '-p', ...(tids.length ? tids : [String(pid)])], `renice pid ${pid} to ${nice}`);
}

export async function setProcessNofile(pid: number, soft: string, hard: string): Promise<void> {
  await mustRun('prlimit', [`--pid=${pid}`, `--nofile=${soft}:${hard}`], `prlimit pid ${pid} nofile ${soft}:${hard}`, 'raising a hard limit needs CAP_SYS_RESOURCE (root in a container may lack it): set LimitNOFILE= in the server\'s systemd unit, or docker run --ulimit nofile=N:N');
}

/** The pid in a pid file, or a UserError saying what to do. */
export async function readPidFile(root: HostRoot, file: string): Promise<number> {
  const text = await root.readOptional(file);
  if (text === undefined) throw new UserError(`pid file ${file} does not exist`, { hint: 'is the server running? give --pid PID or --pidfile FILE (srsx serve writes ./objs/srs.pid)' });
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new UserError(`pid file ${file} does not hold a pid`, { hint: 'give --pid PID' });
  return pid;
}
