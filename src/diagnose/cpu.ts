import path from 'node:path';
import { parseCpuList } from '../host/cpu-list.js';
import { nicIrqs, physicalNics, readIrqAffinity, readIrqEffectiveAffinity, type NicIrq } from '../host/irq.js';
import { parseNetDev } from '../host/proc-net.js';
import { parseProcStat, parseSoftirqs, readThreads, type CpuTimes, type ThreadSample } from '../host/proc-stat.js';
import type { HostRoot } from '../host/root.js';
import { ok, type Report, type Verdict } from './report.js';

/** How a fix names the server: its real pid file when one was given or found, else its pid. */
export interface ServerRef {
  pid?: number;
  pidfile?: string;
}
export function serverArg(ref: ServerRef): string {
  return ref.pidfile ? `--pidfile ${ref.pidfile}` : ref.pid !== undefined ? `--pid ${ref.pid}` : '--pid <server pid>';
}

export interface CpuSample {
  at: number;
  stat: CpuTimes[];
  softirqs: Record<string, number[]>;
  /** packets received by device-backed NICs and by lo (/proc/net/dev) */
  nicRxPackets: number;
  loRxPackets: number;
  /** every thread on the host (stat + schedstat) */
  threads: ThreadSample[];
  server?: { pid: number; allowed: number[] };
}

export async function sampleCpu(root: HostRoot, serverPid?: number): Promise<CpuSample> {
  const [stat, soft, dev, nics, threads] = await Promise.all([root.read('/proc/stat'), root.read('/proc/softirqs'), root.read('/proc/net/dev'), physicalNics(root), readThreads(root)]);
  const ifaces = parseNetDev(dev);
  let server: CpuSample['server'];
  if (serverPid !== undefined) {
    const status = await root.readOptional(`/proc/${serverPid}/status`);
    const list = status ? /^Cpus_allowed_list:\s+(\S+)/m.exec(status)?.[1] : undefined;
    if (status) server = { pid: serverPid, allowed: list ? parseCpuList(list) : [] };
  }
  return {
    at: Date.now(),
    stat: parseProcStat(stat),
    softirqs: parseSoftirqs(soft).rows,
    nicRxPackets: ifaces.filter((i) => nics.includes(i.name)).reduce((s, i) => s + i.rxPackets, 0),
    loRxPackets: ifaces.find((i) => i.name === 'lo')?.rxPackets ?? 0,
    threads,
    server,
  };
}

export const BUSY_SERVER_PERCENT = 30; // a server thread group using this much of a CPU counts as "on" it
export const NET_RX_SHARE = 0.5; // the CPU taking at least half of NET_RX
export const STARVED_WAIT_SHARE = 0.2; // run-queue wait / (run + wait) of the server's threads
export const STARVED_WAIT_MIN = 0.1; // ... and at least this share of the interval spent waiting
export const STARVED_RUN_MIN = 0.02; // ... by a server with work to do: running at least this share of the interval (an idle server's wake-ups are not starvation)
export const THREAD_SATURATED_PERCENT = 90; // one server thread using this much of a CPU
export const COMPETITOR_PERCENT = 5; // a process using this much of the server's CPUs is named
export const NIC_PPS_MIN = 100; // NIC packets/s below this are not "NIC traffic"

export interface CpuRow {
  cpu: number;
  usr: number;
  nice: number;
  sys: number;
  iowait: number;
  irq: number;
  soft: number;
  steal: number;
  idle: number;
  netRxPerS: number;
  netTxPerS: number;
}

/** The facts the CPU verdicts are drawn from (pure input: unit-tested without a machine). */
export interface CpuFacts {
  intervalS: number;
  rows: CpuRow[];
  nicRxPps: number;
  loRxPps: number;
  server?: {
    pid: number;
    allowed: number[];
    percentByCpu: Record<number, number>;
    runMs: number;
    waitMs: number;
    threads: Array<{ tid: number; comm: string; percent: number; cpu: number }>;
  };
  competitors: Array<{ pid: number; comm: string; percent: number; cpus: number[] }>;
  serverArg: string;
}

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Verdicts on the CPU facts; the ok verdict says what was checked, and only that. */
export function cpuVerdicts(f: CpuFacts): Verdict[] {
  const v: Verdict[] = [];
  const totalRx = f.rows.reduce((s, r) => s + r.netRxPerS, 0);
  const nicTraffic = f.nicRxPps >= NIC_PPS_MIN && f.nicRxPps >= f.loRxPps;
  const traffic = `NICs ${Math.round(f.nicRxPps)} packets/s, lo ${Math.round(f.loRxPps)} packets/s`;
  const s = f.server;
  const others = (cpu: number) => f.rows.map((x) => x.cpu).filter((c) => c !== cpu);
  const named = (list: CpuFacts['competitors']) => list.map((c) => `${c.comm} (pid ${c.pid}) ${Math.round(c.percent)}%`).join(', ');
  const checked: string[] = [];
  // 1. NET_RX on the server's CPU
  if (s && f.rows.length > 1) {
    checked.push('NET_RX placement against the server');
    for (const r of f.rows) {
      const serverPct = s.percentByCpu[r.cpu] ?? 0;
      if (!(totalRx > 10 && r.netRxPerS / totalRx >= NET_RX_SHARE && serverPct >= BUSY_SERVER_PERCENT)) continue;
      const head = `CPU ${r.cpu} takes ${Math.round((r.netRxPerS / totalRx) * 100)}% of NET_RX softirqs (threshold ${NET_RX_SHARE * 100}%) and the server (pid ${s.pid}) uses ${Math.round(serverPct)}% of it (threshold ${BUSY_SERVER_PERCENT}%)`;
      if (nicTraffic) {
        v.push({
          level: r.idle < 10 ? 'critical' : 'warn',
          reason: `${head}: NIC packets (${traffic}) and the server compete for one CPU (CPU ${r.cpu} idle ${r.idle}%)`,
          fix: `srsx tune --softirq-cpu ${r.cpu} ${f.serverArg}   (NIC IRQs on CPU ${r.cpu}, the server on ${others(r.cpu).join(',')})`,
        });
      } else {
        // loopback: the softirq runs in the sending process's context, on the sender's CPU; no IRQ is involved.
        // Contention for that CPU shows in the run-queue wait below, with the processes named.
        v.push(ok(`${head}, but it is loopback traffic (${traffic}): loopback NET_RX runs in the sending process's context on the sender's CPU, so IRQ placement does not apply (contention for CPU ${r.cpu} shows as run-queue wait)`));
      }
    }
  }
  // 2. softirq saturation of one CPU
  checked.push('softirq share per CPU');
  for (const r of f.rows) {
    if (r.soft < 50 || v.some((x) => x.reason.startsWith(`CPU ${r.cpu} `))) continue;
    v.push({
      level: 'warn',
      reason: `CPU ${r.cpu} spends ${r.soft}% in softirq (threshold 50%; ${traffic}): the network stack saturates one CPU${nicTraffic ? '' : ' — loopback traffic, charged to the CPUs of the processes that send it'}`,
      fix: nicTraffic ? 'spread the NIC queues over several CPUs: srsx tune --irq-cpus <list>   (RSS/RPS)' : 'fewer or lighter local senders on that CPU (loopback softirqs are their cost); IRQ placement does not apply',
    });
  }
  if (s) {
    // 3. starvation: the server's threads wait on a run queue for a CPU
    checked.push(`the server's run-queue wait (${Math.round(s.waitMs)} ms waiting, ${Math.round(s.runMs)} ms running)`);
    const want = s.runMs + s.waitMs;
    const share = want > 0 ? s.waitMs / want : 0;
    if (share >= STARVED_WAIT_SHARE && s.waitMs >= STARVED_WAIT_MIN * f.intervalS * 1000 && s.runMs >= STARVED_RUN_MIN * f.intervalS * 1000) {
      // the five busiest on its CPUs (filtered before the top five: busier processes elsewhere do not hide them)
      const comp = f.competitors.filter((c) => c.cpus.some((x) => s.allowed.length === 0 || s.allowed.includes(x))).slice(0, 5);
      v.push({
        level: share >= 0.5 ? 'critical' : 'warn',
        reason: `the server (pid ${s.pid}) waited ${Math.round(s.waitMs)} ms for a CPU while running ${Math.round(s.runMs)} ms in ${r1(f.intervalS)}s (run-queue wait ${Math.round(share * 100)}% of the time it wanted a CPU; threshold ${STARVED_WAIT_SHARE * 100}%, /proc/PID/task/*/schedstat): it is starved of CPU${comp.length ? `; competing on its CPUs (${s.allowed.join(',') || 'all'}): ${named(comp)}` : '; no other process used ≥5% of its CPUs (short bursts, or many small ones)'}`,
        fix: `srsx tune --nice -10 ${f.serverArg}   (the server first in the run queue)${comp.length && f.rows.length > 1 ? `; or give it CPUs of its own: srsx tune --cpus ${s.allowed.length ? s.allowed.join(',') : '<cpus>'} ${f.serverArg} and taskset -apc <other cpus> ${comp[0]!.pid}` : ''}`,
      });
    }
    // 4. one server thread saturated
    checked.push(`per-thread load of the server (busiest thread ${Math.round(Math.max(0, ...s.threads.map((t) => t.percent)))}%)`);
    for (const t of s.threads.filter((x) => x.percent >= THREAD_SATURATED_PERCENT)) {
      v.push({
        level: 'warn',
        reason: `server thread ${t.tid} (${t.comm}) of pid ${s.pid} used ${Math.round(t.percent)}% of a CPU in ${r1(f.intervalS)}s (threshold ${THREAD_SATURATED_PERCENT}%): that thread is saturated — its work cannot go faster on one CPU`,
        fix: `srsx profile --perf 30s ${f.serverArg}   (what the thread spends its time on; then less work per client or more server processes)`,
      });
    }
  }
  if (v.length === 0 || v.every((x) => x.level === 'ok')) {
    const not = s ? '' : '; no server process: NET_RX placement, run-queue wait and thread load not checked';
    v.push(ok(`checked ${checked.join(', ')}: nothing over its threshold${not}`));
  }
  return v;
}

/**
 * `mpstat -P ALL` from /proc/stat deltas, NET_RX/NET_TX rates from /proc/softirqs, where the
 * server ran and waited (per thread), and who else ran on its CPUs.
 */
export function cpuReport(a: CpuSample, b: CpuSample, hz = 100, ref: ServerRef = {}): Report {
  const intervalS = Math.max(0.001, (b.at - a.at) / 1000);
  const rows: CpuRow[] = b.stat.filter((c) => c.cpu !== 'cpu').map((c) => {
    const p = a.stat.find((x) => x.cpu === c.cpu) ?? c;
    const d = (k: keyof Omit<CpuTimes, 'cpu'>) => c[k] - p[k];
    const total = Math.max(1, d('user') + d('nice') + d('system') + d('idle') + d('iowait') + d('irq') + d('softirq') + d('steal'));
    const pc = (k: keyof Omit<CpuTimes, 'cpu'>) => Math.round((d(k) / total) * 1000) / 10;
    const idx = Number(c.cpu.slice(3));
    const rate = (row: string) => r1(((b.softirqs[row]?.[idx] ?? 0) - (a.softirqs[row]?.[idx] ?? 0)) / intervalS);
    return { cpu: idx, usr: pc('user'), nice: pc('nice'), sys: pc('system'), iowait: pc('iowait'), irq: pc('irq'), soft: pc('softirq'), steal: pc('steal'), idle: pc('idle'), netRxPerS: rate('NET_RX'), netTxPerS: rate('NET_TX') };
  });
  const before = new Map(a.threads.map((t) => [t.tid, t]));
  // each thread's CPU use over the interval: schedstat run time when the kernel has it, else ticks
  const used = b.threads.map((t) => {
    const p = before.get(t.tid);
    const runMs = p ? (t.runNs - p.runNs) / 1e6 : 0;
    const waitMs = p ? (t.waitNs - p.waitNs) / 1e6 : 0;
    const tickMs = p ? ((t.ticks - p.ticks) / hz) * 1000 : 0;
    const ms = t.runNs > 0 ? runMs : tickMs;
    return { ...t, runMs: ms, waitMs, percent: (ms / 1000 / intervalS) * 100 };
  });
  let server: CpuFacts['server'];
  if (a.server && b.server) {
    const mine = used.filter((t) => t.pid === b.server!.pid);
    const percentByCpu: Record<number, number> = {};
    for (const t of mine) percentByCpu[t.cpu] = (percentByCpu[t.cpu] ?? 0) + t.percent;
    server = {
      pid: b.server.pid,
      allowed: b.server.allowed,
      percentByCpu,
      runMs: mine.reduce((s, t) => s + t.runMs, 0),
      waitMs: mine.reduce((s, t) => s + t.waitMs, 0),
      threads: mine.map((t) => ({ tid: t.tid, comm: t.comm, percent: r1(t.percent), cpu: t.cpu })),
    };
  }
  // other processes by the CPU time they used and where (last CPU of each busy thread); not srsx diagnose itself
  const byPid = new Map<number, { pid: number; comm: string; percent: number; cpus: number[] }>();
  for (const t of used) {
    if (t.pid === server?.pid || t.pid === process.pid || t.percent <= 0) continue;
    const e = byPid.get(t.pid) ?? { pid: t.pid, comm: t.comm, percent: 0, cpus: [] };
    if (t.tid === t.pid) e.comm = t.comm;
    e.percent += t.percent;
    if (!e.cpus.includes(t.cpu)) e.cpus.push(t.cpu);
    byPid.set(t.pid, e);
  }
  const competitors = [...byPid.values()].filter((c) => c.percent >= COMPETITOR_PERCENT).sort((x, y) => y.percent - x.percent).map((c) => ({ ...c, percent: r1(c.percent), cpus: c.cpus.sort() }));
  const facts: CpuFacts = {
    intervalS,
    rows,
    nicRxPps: Math.max(0, b.nicRxPackets - a.nicRxPackets) / intervalS,
    loRxPps: Math.max(0, b.loRxPackets - a.loRxPackets) / intervalS,
    server,
    competitors,
    serverArg: serverArg({ pid: ref.pid ?? server?.pid, pidfile: ref.pidfile }),
  };
  return {
    kind: 'cpu',
    title: `per-CPU load and softirqs over ${intervalS.toFixed(1)}s (mpstat -P ALL)`,
    intervalS,
    data: {
      cpus: rows,
      rxPacketsPerS: { nic: Math.round(facts.nicRxPps), lo: Math.round(facts.loRxPps) },
      server: server
        ? { pid: server.pid, cpusAllowed: server.allowed, percentByCpu: Object.fromEntries(Object.entries(server.percentByCpu).map(([c, p]) => [c, Math.round(p)])), runMs: Math.round(server.runMs), waitMs: Math.round(server.waitMs), threads: server.threads }
        : null,
      busyProcesses: competitors.slice(0, 10),
    },
    verdicts: cpuVerdicts(facts),
  };
}

// ---------------------------------------------------------------- IRQs

export interface IrqSample {
  at: number;
  irqs: NicIrq[];
}

export async function sampleIrqs(root: HostRoot): Promise<IrqSample> {
  return { at: Date.now(), irqs: await nicIrqs(root) };
}

export interface IrqRow {
  irq: number;
  nic: string;
  name: string;
  perCpu: number[];
  /** interrupts per CPU over the interval */
  delta: number[];
  affinity: string;
  effective: string | null;
}

/** Verdicts on NIC queue IRQs: only an IRQ that moves and is really delivered to several CPUs is worth a warning. */
export function irqVerdicts(rows: IrqRow[], intervalS: number, arg: string): Verdict[] {
  if (rows.length === 0) return [ok('no NIC queue IRQs found (virtual or loopback-only host)')];
  const cpusOf = (list: string | null) => {
    try {
      return list ? parseCpuList(list) : [];
    } catch {
      return [];
    }
  };
  const active = rows.filter((r) => r.delta.some((d) => d > 0));
  const spread = active.filter((r) => {
    const eff = cpusOf(r.effective);
    // without effective_affinity_list, trust what happened: the IRQ fired on several CPUs in the interval
    return r.effective !== null ? eff.length > 1 : r.delta.filter((d) => d > 0).length > 1;
  });
  if (spread.length) {
    const first = spread[0]!;
    const cpu = cpusOf(first.effective)[0] ?? first.delta.findIndex((d) => d > 0);
    return [{
      level: 'warn',
      reason: `${spread.length} active NIC queue IRQ(s) are delivered to several CPUs (IRQ ${first.irq} ${first.name}: effective affinity ${first.effective ?? '?'}, fired on CPUs ${first.delta.flatMap((d, i) => (d > 0 ? [i] : [])).join(',')} in ${intervalS.toFixed(1)}s; threshold: one CPU per queue): its softirqs land wherever it fires`,
      fix: `srsx tune --irq-cpus ${cpu}   (or keep them away from the server: srsx tune --softirq-cpu ${cpu} ${arg})`,
    }];
  }
  const idle = rows.length - active.length;
  return [ok(`${rows.length} NIC queue IRQ(s): ${active.length} active, each delivered to one CPU (effective affinity${rows.some((r) => r.effective === null) ? ', or where it fired' : ''}), ${idle} idle over ${intervalS.toFixed(1)}s — smp_affinity ${rows[0]!.affinity} only allows several`)];
}

/** NIC queue IRQs: per-CPU counts over the interval, smp_affinity and the effective affinity. */
export async function irqReport(root: HostRoot, a: IrqSample, b: IrqSample, ref: ServerRef = {}): Promise<Report> {
  const intervalS = Math.max(0.001, (b.at - a.at) / 1000);
  const rows: IrqRow[] = [];
  for (const q of b.irqs) {
    const p = a.irqs.find((x) => x.irq === q.irq);
    rows.push({
      irq: q.irq, nic: q.nic, name: q.name, perCpu: q.perCpu,
      delta: q.perCpu.map((n, i) => n - (p?.perCpu[i] ?? n)),
      affinity: (await readIrqAffinity(root, q.irq)) ?? '?',
      effective: (await readIrqEffectiveAffinity(root, q.irq)) ?? null,
    });
  }
  return { kind: 'irq', title: `NIC queue interrupts over ${intervalS.toFixed(1)}s`, intervalS, data: { irqs: rows }, verdicts: irqVerdicts(rows, intervalS, serverArg(ref)) };
}

/**
 * The server's own pid file, for fix texts: --pidfile when given, else the `pid` directive of the
 * config on the server's command line (-c FILE, relative to its cwd; default ./objs/srs.pid), kept
 * only when the file names that very pid. undefined when none does (the fix then uses --pid).
 */
export async function serverPidfile(root: HostRoot, pid: number | undefined, given?: string): Promise<string | undefined> {
  if (given !== undefined || pid === undefined) return given;
  const args = ((await root.readOptional(`/proc/${pid}/cmdline`)) ?? '').split('\0');
  const cwd = await root.readLink(`/proc/${pid}/cwd`);
  if (!cwd) return undefined;
  const abs = (p: string) => path.posix.resolve(cwd, p);
  const at = args.findIndex((a) => a === '-c' || a === '--config');
  const candidates: string[] = [];
  if (at >= 0 && args[at + 1]) {
    const conf = await root.readOptional(abs(args[at + 1]!)).catch(() => undefined);
    const m = conf ? /^\s*pid\s+([^;\s]+)\s*;/m.exec(conf) : null;
    if (m) candidates.push(abs(m[1]!));
  }
  candidates.push(abs('./objs/srs.pid'));
  for (const file of candidates) {
    const text = await root.readOptional(file).catch(() => undefined);
    if (text !== undefined && Number(text.trim()) === pid) return file;
  }
  return undefined;
}
