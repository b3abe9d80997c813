import { UserError } from '../errors.js';
import { establishedInodes } from './proc-net.js';
import { parseLimitsNofile, parseStatNice, readFdCeilings } from './process.js';
import type { HostRoot } from './root.js';

/** One look at a process: what `srsx diagnose process` shows (top's NI/PR, taskset, limits, fds, RSS). */
export interface ProcessSnapshot {
  at: number;
  pid: number;
  name: string;
  state: string;
  nice: number;
  priority: number; // top's PR
  threads: number;
  cpusAllowed: string;
  lastCpu: number; // the CPU it last ran on
  cpuTicks: number;
  rssBytes: number;
  fdsOpen: number;
  fdLimitSoft: string;
  fdLimitHard: string;
  socketInodes: number[];
  tcpEstablished: number;
  /** fs.nr_open: the ceiling of any open-files limit */
  nrOpen: number;
  /** whether srsx (this process) has CAP_SYS_RESOURCE, needed to raise a hard limit */
  canRaiseHard: boolean;
}

function statFields(stat: string): string[] {
  // fields after "(comm) ": index 0 is field 3 (state)
  return stat.slice(stat.lastIndexOf(')') + 2).trim().split(/\s+/);
}

export async function readProcess(root: HostRoot, pid: number): Promise<ProcessSnapshot> {
  const [stat, status, limits] = await Promise.all([
    root.readOptional(`/proc/${pid}/stat`),
    root.readOptional(`/proc/${pid}/status`),
    root.readOptional(`/proc/${pid}/limits`),
  ]);
  if (!stat || !status || !limits) throw new UserError(`no process with pid ${pid}`, { hint: 'check the pid (ps -p PID), or use --name / --pidfile' });
  const f = statFields(stat);
  const fds = await root.list(`/proc/${pid}/fd`);
  const inodes: number[] = [];
  for (const fd of fds) {
    const link = await root.readLink(`/proc/${pid}/fd/${fd}`);
    const m = link ? /^socket:\[(\d+)\]$/.exec(link) : null;
    if (m) inodes.push(Number(m[1]));
  }
  const mine = new Set(inodes);
  let established = 0;
  for (const t of ['tcp', 'tcp6']) {
    const text = await root.readOptional(`/proc/${pid}/net/${t}`);
    if (text) established += establishedInodes(text).filter((i) => mine.has(i)).length;
  }
  const nofile = parseLimitsNofile(limits);
  const ceilings = await readFdCeilings(root);
  return {
    at: Date.now(),
    pid,
    name: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?',
    state: f[0] ?? '?',
    nice: parseStatNice(stat),
    priority: Number(f[15]),
    threads: Number(f[17]),
    cpusAllowed: /^Cpus_allowed_list:\s+(\S+)/m.exec(status)?.[1] ?? '',
    lastCpu: Number(f[36]),
    cpuTicks: Number(f[11]) + Number(f[12]),
    rssBytes: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) * 1024,
    fdsOpen: fds.length,
    fdLimitSoft: nofile.soft,
    fdLimitHard: nofile.hard,
    socketInodes: inodes,
    tcpEstablished: established,
    nrOpen: ceilings.nrOpen,
    canRaiseHard: ceilings.canRaiseHard,
  };
}

/** argv of a process (/proc/PID/cmdline), or undefined when it is gone. */
export async function readCmdline(root: HostRoot, pid: number): Promise<string[] | undefined> {
  const text = await root.readOptional(`/proc/${pid}/cmdline`);
  if (text === undefined) return undefined;
  const args = text.split('\0');
  if (args[args.length - 1] === '') args.pop();
  return args;
}

/** The parent pid (field 4 of /proc/PID/stat), or undefined when the process is gone. */
export async function parentPid(root: HostRoot, pid: number): Promise<number | undefined> {
  const stat = await root.readOptional(`/proc/${pid}/stat`);
  return stat ? Number(statFields(stat)[1]) : undefined;
}

/** The pids whose parent is `pid` (e.g. a `srsx serve --workers` supervisor's workers), oldest first. */
export async function childPids(root: HostRoot, pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await root.list('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if ((await parentPid(root, Number(entry))) === pid) out.push(Number(entry));
  }
  return out.sort((a, b) => a - b);
}

/**
 * Whether argv runs a streaming server: `srsx serve …` (through node, bin/srsx or dist/cli/main.js,
 * with any node flags before it) or SRS itself (`srs`, `./objs/srs -c …`).
 */
export function isServerCommand(argv: readonly string[]): boolean {
  if (argv.length === 0) return false;
  const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);
  if (base(argv[0]!) === 'srs') return true;
  const script = argv.findIndex((a, i) => i > 0 ? !a.startsWith('-') : base(a) === 'srsx');
  if (script < 0) return false;
  const name = base(argv[script]!);
  const isSrsx = name === 'srsx' || (name === 'main.js' && argv[script]!.includes('cli/'));
  if (!isSrsx) return false;
  const sub = base(argv[0]!) === 'srsx' ? argv[1] : argv[script + 1];
  return sub === 'serve';
}

/** One process that could be the server: pid, parent and command line. */
export interface ServerCandidate {
  pid: number;
  ppid: number;
  cmdline: string;
}

/**
 * Processes whose command line is `srsx serve` or `srs`, without the bin/srsx wrappers: a
 * candidate whose child is a candidate too is the wrapper (serve runs as its child; the child
 * listens and writes the pid file). `exclude` leaves out srsx's own pid.
 */
export async function serverCandidates(root: HostRoot, exclude: readonly number[] = []): Promise<ServerCandidate[]> {
  const found: ServerCandidate[] = [];
  for (const entry of await root.list('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (exclude.includes(pid)) continue;
    const argv = await readCmdline(root, pid);
    if (!argv || !isServerCommand(argv)) continue;
    found.push({ pid, ppid: (await parentPid(root, pid)) ?? 0, cmdline: argv.join(' ') });
  }
  const parents = new Set(found.map((c) => c.ppid));
  return found.filter((c) => !parents.has(c.pid)).sort((a, b) => a.pid - b.pid);
}

/** Pids whose name (comm) is one of `names`, oldest first. */
export async function findByName(root: HostRoot, names: readonly string[]): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await root.list('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const comm = (await root.readOptional(`/proc/${entry}/comm`))?.trim();
    if (comm && names.includes(comm)) out.push(Number(entry));
  }
  return out.sort((a, b) => a - b);
}

/** CPUs each thread last ran on (/proc/PID/task/TID/stat field 39). */
export async function threadCpus(root: HostRoot, pid: number): Promise<Array<{ tid: number; cpu: number; ticks: number }>> {
  const out: Array<{ tid: number; cpu: number; ticks: number }> = [];
  for (const tid of await root.list(`/proc/${pid}/task`)) {
    const stat = await root.readOptional(`/proc/${pid}/task/${tid}/stat`);
    if (!stat) continue;
    const f = statFields(stat);
    out.push({ tid: Number(tid), cpu: Number(f[36]), ticks: Number(f[11]) + Number(f[12]) });
  }
  return out;
}
