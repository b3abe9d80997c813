import { readIrqAffinity, writeIrqAffinity } from '../host/irq.js';
import { readProcessSettings, setProcessCpus, setProcessNice, setProcessNofile } from '../host/process.js';
import type { HostRoot } from '../host/root.js';
import { sameCpus } from '../host/cpu-list.js';
import { normaliseSysctl, readSysctl, writeSysctl } from '../host/sysctl.js';
import type { TuneItem } from './item.js';

export function sysctlItem(root: HostRoot, key: string, value: string, reason: string, inContainer: boolean): TuneItem {
  const target = normaliseSysctl(value);
  return {
    id: `sysctl:${key}`,
    setting: key,
    target,
    reason,
    sysctlKey: key,
    read: () => readSysctl(root, key),
    matches: (current) => current === target,
    apply: () => writeSysctl(root, key, target, inContainer),
    undo: (previous) => writeSysctl(root, key, previous, inContainer),
  };
}

export function irqItem(root: HostRoot, irq: number, name: string, cpus: string, reason: string, inContainer: boolean): TuneItem {
  return {
    id: `irq:${irq}`,
    setting: `irq ${irq} (${name}) smp_affinity_list`,
    target: cpus,
    reason,
    read: () => readIrqAffinity(root, irq),
    matches: (current) => current !== undefined && sameCpus(current, cpus),
    apply: () => writeIrqAffinity(root, irq, cpus, inContainer),
    undo: (previous) => writeIrqAffinity(root, irq, previous, inContainer),
  };
}

export function cpusItem(root: HostRoot, pid: number, cpus: string, reason: string): TuneItem {
  return {
    id: `pid:${pid}:cpus`,
    setting: `pid ${pid} CPU affinity (all threads)`,
    target: cpus,
    reason,
    read: async () => (await readProcessSettings(root, pid)).cpus,
    matches: (current) => current !== undefined && sameCpus(current, cpus),
    apply: () => setProcessCpus(pid, cpus),
    undo: (previous) => setProcessCpus(pid, previous),
  };
}

export function niceItem(root: HostRoot, pid: number, nice: number, reason: string): TuneItem {
  return {
    id: `pid:${pid}:nice`,
    setting: `pid ${pid} nice (all threads)`,
    target: String(nice),
    reason,
    read: async () => String((await readProcessSettings(root, pid)).nice),
    matches: (current) => current === String(nice),
    apply: () => setProcessNice(root, pid, nice),
    undo: (previous) => setProcessNice(root, pid, Number(previous)),
  };
}

export function nofileItem(root: HostRoot, pid: number, nofile: number, reason: string): TuneItem {
  // the soft limit is what the process uses; the hard limit is raised only when it is below the
  // target (lowering it could not be undone without CAP_SYS_RESOURCE)
  let hard = '';
  return {
    id: `pid:${pid}:nofile`,
    setting: `pid ${pid} open files (soft:hard)`,
    get target() {
      return `${nofile}:${hard || nofile}`;
    },
    reason,
    read: async () => {
      const s = await readProcessSettings(root, pid);
      hard = s.nofileHard === 'unlimited' || Number(s.nofileHard) >= nofile ? s.nofileHard : String(nofile);
      return `${s.nofileSoft}:${s.nofileHard}`;
    },
    matches: (current) => current !== undefined && current.split(':')[0] === String(nofile),
    apply: () => setProcessNofile(pid, String(nofile), hard || String(nofile)),
    undo: (previous) => {
      const [soft, prevHard] = previous.split(':') as [string, string];
      return setProcessNofile(pid, soft, prevHard);
    },
  };
}
