import { readSysctl } from '../host/sysctl.js';
import { readUdpCounters, readUdpSockets, socketOwners, UDP_COUNTERS, type UdpCounters, type UdpSocket } from '../host/proc-net.js';
import type { HostRoot } from '../host/root.js';
import { ok, type Report, type Verdict } from './report.js';

export interface UdpSample {
  at: number;
  udp: UdpCounters;
  udp6: UdpCounters;
  sockets: UdpSocket[];
}

export async function sampleUdp(root: HostRoot): Promise<UdpSample> {
  const [c, sockets] = await Promise.all([readUdpCounters(root), readUdpSockets(root)]);
  return { at: Date.now(), ...c, sockets };
}

function sum(a: UdpCounters, b: UdpCounters): UdpCounters {
  const out = { ...a };
  for (const k of UDP_COUNTERS) out[k] = a[k] + b[k];
  return out;
}

/** Verdict rules on UDP counter deltas (the guide: receive/send buffer errors are drops). */
export function udpVerdicts(delta: UdpCounters, rmemMax: number | undefined, intervalS: number): Verdict[] {
  const v: Verdict[] = [];
  const size = rmemMax !== undefined && rmemMax >= 16 * 1024 * 1024 ? `${Math.round((rmemMax * 2) / 1024 / 1024)}M` : '16M';
  if (delta.RcvbufErrors > 0 || delta.SndbufErrors > 0) {
    const ratio = delta.InDatagrams + delta.RcvbufErrors > 0 ? delta.RcvbufErrors / (delta.InDatagrams + delta.RcvbufErrors) : 0;
    v.push({
      level: ratio >= 0.01 || delta.SndbufErrors > 0 ? 'critical' : 'warn',
      reason: `${delta.RcvbufErrors} receive buffer errors and ${delta.SndbufErrors} send buffer errors in ${intervalS}s (threshold: any; ${(ratio * 100).toFixed(2)}% of received datagrams dropped, critical at 1%)`,
      fix: `srsx tune --udp ${size}`,
    });
  }
  if (delta.InCsumErrors > 0) v.push({ level: 'warn', reason: `${delta.InCsumErrors} UDP checksum errors in ${intervalS}s (threshold: any): a bad NIC, cable or offload`, fix: undefined });
  if (delta.NoPorts > 100) v.push({ level: 'warn', reason: `${delta.NoPorts} datagrams to closed ports in ${intervalS}s (threshold: 100): clients sending to a port nothing listens on` });
  if (v.length === 0) v.push(ok(`no UDP receive/send buffer errors in ${intervalS}s`));
  return v;
}

/** `netstat -suna && sleep 30 && netstat -suna`, with verdicts and the sockets that dropped. */
export async function udpDropsReport(root: HostRoot, a: UdpSample, b: UdpSample): Promise<Report> {
  const intervalS = Math.max(0.001, (b.at - a.at) / 1000);
  const totalA = sum(a.udp, a.udp6);
  const totalB = sum(b.udp, b.udp6);
  const delta = { ...totalB };
  for (const k of UDP_COUNTERS) delta[k] = totalB[k] - totalA[k];
  const rows = UDP_COUNTERS.map((k) => ({ counter: k, total: totalB[k], delta: delta[k], perSecond: Math.round((delta[k] / intervalS) * 10) / 10 }));
  const before = new Map(a.sockets.map((s) => [s.inode, s.drops]));
  const dropping = b.sockets.filter((s) => s.drops > (before.get(s.inode) ?? 0) || (s.drops > 0 && !before.has(s.inode)));
  const owners = dropping.length ? await socketOwners(root, new Set(dropping.map((s) => s.inode))) : new Map();
  const sockets = dropping.map((s) => ({
    local: s.local,
    family: s.family,
    drops: s.drops,
    dropsDelta: s.drops - (before.get(s.inode) ?? 0),
    rxQueue: s.rxQueue,
    inode: s.inode,
    pid: owners.get(s.inode)?.pid ?? null,
    program: owners.get(s.inode)?.program ?? null,
  }));
  const rmem = await readSysctl(root, 'net.core.rmem_max');
  const received = delta.InDatagrams + delta.RcvbufErrors;
  return {
    kind: 'udp-drops',
    title: `UDP drops over ${intervalS.toFixed(1)}s (UDP + UDP6)`,
    intervalS,
    data: { counters: rows, dropRatio: received > 0 ? delta.RcvbufErrors / received : 0, sockets, rmemMax: rmem ? Number(rmem) : null },
    verdicts: udpVerdicts(delta, rmem ? Number(rmem) : undefined, Math.round(intervalS * 10) / 10),
  };
}

/** Analysis of pasted `netstat -suna` text (totals only: one sample). */
export function netstatTextReport(counters: UdpCounters, seen: string[]): Report {
  const received = counters.InDatagrams + counters.RcvbufErrors;
  const ratio = received > 0 ? counters.RcvbufErrors / received : 0;
  const v: Verdict[] = [];
  if (counters.RcvbufErrors > 0 || counters.SndbufErrors > 0) {
    v.push({
      level: ratio >= 0.01 || counters.SndbufErrors > 0 ? 'critical' : 'warn',
      reason: `since boot: ${counters.RcvbufErrors} receive buffer errors (${(ratio * 100).toFixed(2)}% of received, critical at 1%), ${counters.SndbufErrors} send buffer errors; run it twice 30 s apart to see if they still grow`,
      fix: 'srsx tune --udp 16M',
    });
  } else v.push(ok('no receive or send buffer errors since boot'));
  return {
    kind: 'udp-drops',
    title: 'UDP counters from netstat -suna text (totals since boot)',
    data: { counters: seen.map((k) => ({ counter: k, total: counters[k as keyof UdpCounters] })), dropRatio: ratio, sockets: [] },
    verdicts: v,
  };
}

/** `netstat -lpun`: each UDP socket's queues, drops and owner; flags queues near the buffer. */
export async function udpQueueReport(root: HostRoot): Promise<Report> {
  const sockets = await readUdpSockets(root);
  const owners = await socketOwners(root, new Set(sockets.map((s) => s.inode)));
  const rmemDefault = Number((await readSysctl(root, 'net.core.rmem_default')) ?? 212992);
  const rows = sockets.map((s) => ({ ...s, pid: owners.get(s.inode)?.pid ?? null, program: owners.get(s.inode)?.program ?? null }));
  const full = rows.filter((s) => s.rxQueue > rmemDefault * 0.5);
  const v: Verdict[] = full.map((s) => ({
    level: 'warn' as const,
    reason: `${s.local} (${s.program ?? '?'} pid ${s.pid ?? '?'}) has ${s.rxQueue} bytes waiting, over half of the ${rmemDefault}-byte default receive buffer (threshold 50%): the program reads too slowly or the buffer is too small`,
    fix: 'srsx tune --udp 16M',
  }));
  if (v.length === 0) v.push(ok(`no UDP socket's receive queue is over half of the ${rmemDefault}-byte default buffer`));
  return { kind: 'udp-queue', title: 'UDP sockets (netstat -lpun)', data: { sockets: rows, rmemDefault }, verdicts: v };
}
