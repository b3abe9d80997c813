import { parseCpuList } from '../host/cpu-list.js';
import { nicIrqs, readIrqAffinity } from '../host/irq.js';
import { threadCpus } from '../host/proc-process.js';
import { parseProcStat, parseSoftirqs, type CpuTimes } from '../host/proc-stat.js';
import type { HostRoot } from '../host/root.js';
import { ok, type Report, type Verdict } from './report.js';

export interface CpuSample {
  at: number;
  stat: CpuTimes[];
  softirqs: Record<string, number[]>;
  server?: { pid: number; threads: Array<{ tid: number; cpu: number; ticks: number }> };
}

export async function sampleCpu(root: HostRoot, serverPid?: number): Promise<CpuSample> {
  const [stat, soft] = await Promise.all([root.read('/proc/stat'), root.read('/proc/softirqs')]);
  let server: CpuSample['server'];
  if (serverPid !== undefined) {
    try {
      server = { pid: serverPid, threads: await threadCpus(root, serverPid) };
    } catch {
      server = undefined;
    }
  }
  return { at: Date.now(), stat: parseProcStat(stat), softirqs: parseSoftirqs(soft).rows, server };
}

const BUSY_SERVER_PERCENT = 30; // a server thread group using this much of a CPU counts as "on" it
const NET_RX_SHARE = 0.5; // the CPU taking at least half of NET_RX

/**
 * `mpstat -P ALL` from /proc/stat deltas, NET_RX/NET_TX rates from /proc/softirqs, and where the
 * server ran. Verdict when the CPU that takes most NET_RX softirqs is also where the server burns CPU.
 */
export async function cpuReport(root: HostRoot, a: CpuSample, b: CpuSample, hz = 100): Promise<Report> {
  const intervalS = Math.max(0.001, (b.at - a.at) / 1000);
  const rows = b.stat.filter((c) => c.cpu !== 'cpu').map((c) => {
    const p = a.stat.find((x) => x.cpu === c.cpu)!;
    const d = (k: keyof Omit<CpuTimes, 'cpu'>) => c[k] - p[k];
    const total = Math.max(1, d('user') + d('nice') + d('system') + d('idle') + d('iowait') + d('irq') + d('softirq') + d('steal'));
    const pc = (k: keyof Omit<CpuTimes, 'cpu'>) => Math.round((d(k) / total) * 1000) / 10;
    const idx = Number(c.cpu.slice(3));
    const rate = (row: string) => Math.round((((b.softirqs[row]?.[idx] ?? 0) - (a.softirqs[row]?.[idx] ?? 0)) / intervalS) * 10) / 10;
    return { cpu: idx, usr: pc('user'), nice: pc('nice'), sys: pc('system'), iowait: pc('iowait'), irq: pc('irq'), soft: pc('softirq'), steal: pc('steal'), idle: pc('idle'), netRxPerS: rate('NET_RX'), netTxPerS: rate('NET_TX') };
  });
  // where the server burned CPU during the interval
  const serverOn = new Map<number, number>();
  let serverPid: number | undefined;
  if (a.server && b.server) {
    serverPid = b.server.pid;
    const before = new Map(a.server.threads.map((t) => [t.tid, t.ticks]));
    for (const t of b.server.threads) {
      const used = ((t.ticks - (before.get(t.tid) ?? t.ticks)) / hz / intervalS) * 100;
      serverOn.set(t.cpu, (serverOn.get(t.cpu) ?? 0) + used);
    }
  }
  const totalRx = rows.reduce((s, r) => s + r.netRxPerS, 0);
  const verdicts: Verdict[] = [];
  const nCpus = rows.length;
  for (const r of rows) {
    const serverPct = serverOn.get(r.cpu) ?? 0;
    if (totalRx > 10 && r.netRxPerS / totalRx >= NET_RX_SHARE && serverPct >= BUSY_SERVER_PERCENT && nCpus > 1) {
      const others = rows.map((x) => x.cpu).filter((c) => c !== r.cpu);
      verdicts.push({
        level: r.idle < 10 ? 'critical' : 'warn',
        reason: `CPU ${r.cpu} takes ${Math.round((r.netRxPerS / totalRx) * 100)}% of NET_RX softirqs (threshold ${NET_RX_SHARE * 100}%) and the server (pid ${serverPid}) uses ${Math.round(serverPct)}% of it (threshold ${BUSY_SERVER_PERCENT}%): packets and the server compete for one CPU (CPU ${r.cpu} idle ${r.idle}%)`,
        fix: `srsx tune --softirq-cpu ${r.cpu} --pid ${serverPid}   (NIC IRQs on CPU ${r.cpu}, the server on ${others.join(',')})`,
      });
    }
    if (r.soft >= 50 && !verdicts.some((v) => v.reason.startsWith(`CPU ${r.cpu} `))) {
      verdicts.push({ level: 'warn', reason: `CPU ${r.cpu} spends ${r.soft}% in softirq (threshold 50%): the network stack saturates one CPU`, fix: 'srsx tune --udp 16M   and spread NIC queues: srsx tune --irq-cpus <list>' });
    }
  }
  if (verdicts.length === 0) verdicts.push(ok(serverPid !== undefined ? `the server (pid ${serverPid}) does not share a busy CPU with NIC softirqs` : 'no CPU is saturated by softirqs (no server process to check placement)'));
  const irqs = await nicIrqs(root);
  const affinity: Record<string, string> = {};
  for (const q of irqs) affinity[q.irq] = (await readIrqAffinity(root, q.irq)) ?? '?';
  return {
    kind: 'cpu',
    title: `per-CPU load and softirqs over ${intervalS.toFixed(1)}s (mpstat -P ALL)`,
    intervalS,
    data: { cpus: rows, server: serverPid === undefined ? null : { pid: serverPid, percentByCpu: Object.fromEntries([...serverOn].map(([c, p]) => [c, Math.round(p)])) }, nicIrqAffinity: affinity },
    verdicts,
  };
}

/** NIC queue IRQs with per-CPU counts and their smp_affinity. */
export async function irqReport(root: HostRoot): Promise<Report> {
  const irqs = await nicIrqs(root);
  const rows = [];
  for (const q of irqs) rows.push({ irq: q.irq, nic: q.nic, name: q.name, perCpu: q.perCpu, affinity: (await readIrqAffinity(root, q.irq)) ?? '?' });
  const verdicts: Verdict[] = [];
  const spread = rows.filter((r) => {
    try {
      return parseCpuList(r.affinity).length > 1;
    } catch {
      return false;
    }
  });
  if (rows.length === 0) verdicts.push(ok('no NIC queue IRQs found (virtual or loopback-only host)'));
  else if (spread.length) verdicts.push({ level: 'warn', reason: `${spread.length} NIC IRQ(s) may run on several CPUs (affinity ${spread[0]!.affinity}; threshold: one CPU per queue): softirqs follow the IRQ and land wherever it fires`, fix: 'srsx tune --softirq-cpu 0 --pidfile ./objs/srs.pid   (or srsx tune --irq-cpus 0)' });
  else verdicts.push(ok('each NIC queue IRQ is pinned to one CPU'));
  return { kind: 'irq', title: 'NIC queue interrupts', data: { irqs: rows }, verdicts };
}
