import os from 'node:os';
import { UserError } from '../errors.js';
import { formatCpuList, parseCpuList } from '../host/cpu-list.js';
import { nicIrqs, physicalNics } from '../host/irq.js';
import { readFdCeilings, readPidFile, readProcessSettings } from '../host/process.js';
import type { HostRoot } from '../host/root.js';
import { inContainer, readSysctl, sysctlPath } from '../host/sysctl.js';
import { resolveServerPid } from '../diagnose/process.js';
import type { TuneItem } from './item.js';
import { cpusItem, irqItem, niceItem, nofileItem, sysctlItem } from './items.js';
import { loadProfileSource, type Profile, type ProfileSource } from './profiles.js';
import { parseSize } from './size.js';

export const DEFAULT_PIDFILE = './objs/srs.pid';

/** The flags of `srsx tune` and `srsx tune check`, as given. */
export interface TuneFlags {
  udp?: string;
  profile?: string;
  irqCpus?: string;
  nic?: string;
  softirqCpu?: string;
  pid?: string;
  pidfile?: string;
  cpus?: string;
  nice?: string;
  nofile?: string;
}

export interface TuneRequest {
  items: TuneItem[];
  notes: string[];
  profile?: Profile;
  process?: { pid: number; cpus?: string; nice?: number; nofile?: number };
}

function onlineCpus(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}

function checkCpus(text: string, flag: string): string {
  const cpus = parseCpuList(text, flag);
  const n = onlineCpus();
  const bad = cpus.filter((c) => c >= n);
  if (bad.length) throw new UserError(`${flag} ${text}: CPU ${bad.join(',')} does not exist (this machine has CPUs 0-${n - 1})`, { hint: `use CPUs 0 to ${n - 1}` });
  return formatCpuList(cpus);
}

async function resolvePid(root: HostRoot, flags: TuneFlags, needed: boolean): Promise<number | undefined> {
  if (flags.pid !== undefined) {
    if (!/^\d+$/.test(flags.pid)) throw new UserError(`--pid '${flags.pid}' is not a process id`, { hint: 'give a number, e.g. --pid $(pidof srs)' });
    const pid = Number(flags.pid);
    await readProcessSettings(root, pid); // throws "no process with pid"
    return pid;
  }
  // no --pid/--pidfile: the server as diagnose finds it (./objs/srs.pid, else who listens on 1935,
  // else the one `srsx serve`/`srs`, never the bin/srsx wrapper; several: an error naming them)
  if (flags.pidfile === undefined && needed) return resolveServerPid(root, {}, true);
  if (flags.pidfile !== undefined) {
    const file = flags.pidfile;
    const pid = await readPidFile(root, file);
    try {
      await readProcessSettings(root, pid);
    } catch {
      throw new UserError(`pid file ${file} names pid ${pid}, which is not running`, { hint: 'start the server, or give --pid PID' });
    }
    return pid;
  }
  return undefined;
}

/**
 * Why an open-files limit of `n` cannot be set on `pid`, or undefined when it can: below the
 * descriptors already open, above fs.nr_open, or above the hard limit without CAP_SYS_RESOURCE.
 */
export async function checkNofile(root: HostRoot, pid: number, n: number): Promise<UserError | undefined> {
  const s = await readProcessSettings(root, pid);
  const { nrOpen, canRaiseHard } = await readFdCeilings(root);
  const hard = s.nofileHard === 'unlimited' ? Infinity : Number(s.nofileHard);
  if (n < 2) return new UserError(`--nofile ${n} would leave the process unable to open a file or accept a client`, { hint: 'a server needs one descriptor per client, e.g. --nofile 100000' });
  if (n <= s.fdsOpen) return new UserError(`--nofile ${n}: pid ${pid} already has ${s.fdsOpen} descriptors open, so it could not accept another client`, { hint: `give more than ${s.fdsOpen}, e.g. --nofile ${Math.min(Math.max(100000, s.fdsOpen * 4), hard, nrOpen)}` });
  if (n > nrOpen) return new UserError(`--nofile ${n} is above fs.nr_open (${nrOpen}), the kernel's ceiling for every process's open files`, { hint: `give --nofile ${Math.min(nrOpen, hard)} or less, or raise the ceiling first: sysctl -w fs.nr_open=${n}` });
  if (n > hard && !canRaiseHard) {
    return new UserError(`--nofile ${n} is above pid ${pid}'s hard limit ${s.nofileHard}, and raising a hard limit needs CAP_SYS_RESOURCE, which srsx lacks here (root in a container)`, {
      hint: `give --nofile ${s.nofileHard} or less now; for more, set LimitNOFILE=${n} in the server's systemd unit [Service] (or docker run --ulimit nofile=${n}:${n}) and restart it`,
    });
  }
  return undefined;
}

/**
 * A profile's sysctl keys must exist here: a key the kernel does not have (a typo, a module not
 * loaded, a setting of another kernel) is refused before the plan, naming the file, line and key,
 * so --dry-run and check catch it and an apply never starts with it.
 */
export async function checkProfileKeys(root: HostRoot, source: ProfileSource, container: boolean): Promise<void> {
  for (const key of Object.keys(source.profile.sysctl)) {
    if ((await readSysctl(root, key)) !== undefined) continue;
    const line = source.lineOf(['sysctl', key]);
    throw new UserError(`${source.file}${line ? `:${line}` : ''}: unknown sysctl ${key}: ${sysctlPath(key)} does not exist on this ${container ? 'kernel (or is not visible in this container)' : 'kernel'}`, {
      hint: `check the spelling (sysctl -a | grep ${key.split('.').slice(0, -1).join('.')}), load the module that provides it, or remove it from the profile`,
    });
  }
}

/** Turns flags into tune items; validates everything before anything is read or written. */
export async function buildRequest(root: HostRoot, flags: TuneFlags): Promise<TuneRequest> {
  const container = await inContainer(root);
  const items: TuneItem[] = [];
  const notes: string[] = [];
  const sysctls = new Map<string, { value: string; reason: string }>();
  let profile: Profile | undefined;
  if (flags.profile) {
    const source = loadProfileSource(flags.profile);
    await checkProfileKeys(root, source, container);
    profile = source.profile;
    for (const [key, v] of Object.entries(profile.sysctl)) sysctls.set(key, { value: v.value, reason: `profile ${profile.name}: ${v.reason}` });
  }
  if (flags.udp !== undefined) {
    const bytes = String(parseSize(flags.udp, '--udp'));
    const why = 'UDP socket buffers (the guide: 16M stops RcvbufErrors/SndbufErrors under WebRTC load)';
    for (const key of ['net.core.rmem_max', 'net.core.rmem_default', 'net.core.wmem_max', 'net.core.wmem_default']) sysctls.set(key, { value: bytes, reason: why });
  }
  for (const [key, v] of sysctls) items.push(sysctlItem(root, key, v.value, v.reason, container));

  const nice = flags.nice ?? (profile?.process.nice !== undefined ? String(profile.process.nice) : undefined);
  const nofile = flags.nofile ?? (profile?.process.nofile !== undefined ? String(profile.process.nofile) : undefined);
  if (flags.nice !== undefined && !/^-?\d+$/.test(flags.nice)) throw new UserError(`--nice '${flags.nice}' is not a number`, { hint: 'use -20 (highest priority) to 19' });
  if (nice !== undefined && (Number(nice) < -20 || Number(nice) > 19)) throw new UserError(`--nice ${nice} is out of range`, { hint: 'use -20 (highest priority) to 19' });
  if (flags.nofile !== undefined && !/^\d+$/.test(flags.nofile)) throw new UserError(`--nofile '${flags.nofile}' is not a number`, { hint: 'e.g. --nofile 100000' });
  if (flags.nofile !== undefined && Number(flags.nofile) < 2) {
    throw new UserError(`--nofile ${flags.nofile} would leave the process unable to open a file or accept a client`, { hint: 'a server needs one descriptor per client, e.g. --nofile 100000' });
  }

  let processCpus = flags.cpus !== undefined ? checkCpus(flags.cpus, '--cpus') : undefined;
  let irqCpus = flags.irqCpus !== undefined ? checkCpus(flags.irqCpus, '--irq-cpus') : undefined;
  if (flags.softirqCpu !== undefined) {
    if (!/^\d+$/.test(flags.softirqCpu)) throw new UserError(`--softirq-cpu '${flags.softirqCpu}' is not a CPU number`, { hint: 'e.g. --softirq-cpu 0' });
    const n = Number(flags.softirqCpu);
    irqCpus = checkCpus(String(n), '--softirq-cpu');
    const others = [...Array(onlineCpus()).keys()].filter((c) => c !== n);
    if (others.length === 0) throw new UserError('--softirq-cpu needs at least two CPUs (one for NIC interrupts, the rest for the server)');
    processCpus ??= formatCpuList(others);
  }
  if (flags.nic !== undefined && !(await physicalNics(root)).includes(flags.nic)) {
    throw new UserError(`--nic ${flags.nic}: no such network device`, { hint: `devices: ${(await physicalNics(root)).join(', ') || 'none'}` });
  }
  if (irqCpus !== undefined) {
    const irqs = await nicIrqs(root, flags.nic);
    if (irqs.length === 0) notes.push(`no NIC queue IRQs found${flags.nic ? ` for ${flags.nic}` : ''} in /proc/interrupts: nothing to pin`);
    for (const q of irqs) items.push(irqItem(root, q.irq, `${q.nic} ${q.name}`, irqCpus, flags.softirqCpu !== undefined ? `NIC interrupts (and their NET_RX softirqs) on CPU ${irqCpus}, away from the server` : 'NIC queue interrupts on the chosen CPUs', container));
  }

  const wantsProcess = processCpus !== undefined || nice !== undefined || nofile !== undefined;
  const explicitProcess = flags.cpus !== undefined || flags.nice !== undefined || flags.nofile !== undefined || flags.pid !== undefined || flags.pidfile !== undefined;
  let pid: number | undefined;
  if (wantsProcess) {
    try {
      pid = await resolvePid(root, flags, true);
    } catch (err) {
      if (explicitProcess) throw err;
      notes.push(`process settings skipped: ${(err as Error).message} (give --pid or --pidfile to apply them)`);
    }
  }
  let processInfo: TuneRequest['process'];
  if (pid !== undefined) {
    processInfo = { pid };
    if (processCpus !== undefined) {
      items.push(cpusItem(root, pid, processCpus, flags.softirqCpu !== undefined ? `the server off CPU ${flags.softirqCpu}, which takes the NIC softirqs` : 'pin the server (taskset -a -p)'));
      processInfo.cpus = processCpus;
    }
    if (nice !== undefined) {
      items.push(niceItem(root, pid, Number(nice), profile?.process.reason ?? 'schedule the server ahead of other work (renice)'));
      processInfo.nice = Number(nice);
    }
    const nofileProblem = nofile !== undefined ? await checkNofile(root, pid, Number(nofile)) : undefined;
    if (nofileProblem && flags.nofile !== undefined) throw nofileProblem;
    if (nofileProblem) notes.push(`profile ${profile?.name} nofile skipped: ${nofileProblem.message} (${nofileProblem.hint})`);
    else if (nofile !== undefined) {
      items.push(nofileItem(root, pid, Number(nofile), profile?.process.reason ?? 'one descriptor per client (prlimit)'));
      processInfo.nofile = Number(nofile);
    }
  }
  if (items.length === 0 && notes.length === 0) {
    throw new UserError('nothing to tune', { hint: 'give --udp 16M, --profile rtc, --irq-cpus 0, --softirq-cpu 0, --cpus/--nice/--nofile with --pid; see srsx tune --help' });
  }
  return { items, notes, profile, process: processInfo };
}
