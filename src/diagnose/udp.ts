import { readSysctl } from '../host/sysctl.js';
import { readIpIn, readUdpCounters, readUdpSockets, socketOwners, UDP_COUNTERS, type IpIn, type NetstatSample, type UdpCounters } from '../host/proc-net.js';
import { readSockDiag } from '../host/sock-diag.js';
import type { HostRoot } from '../host/root.js';
import { ok, type Report, type Verdict } from './report.js';
import { sampleServerUdp, serverUdpView, type ServerUdpSample, type ServerUdpTarget } from './server-udp.js';

/** One UDP socket as diagnose sees it: queues and the socket's own buffers (sock_diag skmem) with its owner. */
export interface UdpSockView {
  local: string;
  remote: string;
  inode: number | null;
  /** receive / send queue, bytes as the kernel charges them (skmem r / t; Recv-Q / Send-Q) */
  rxQueue: number;
  txQueue: number;
  /** the socket's own receive / send buffer (skmem rb / tb); null when only /proc/net/udp could be read */
  rcvbuf: number | null;
  sndbuf: number | null;
  drops: number;
  pid: number | null;
  program: string | null;
}

export interface UdpSample {
  at: number;
  udp: UdpCounters;
  udp6: UdpCounters;
  ipIn?: IpIn;
  sockets: UdpSockView[];
  /** true when the sockets came from sock_diag (buffer sizes known) */
  sockDiag: boolean;
  /** the server's own UDP counters (its API), read with the kernel's */
  server?: { target: ServerUdpTarget; sample: ServerUdpSample };
}

/** Every UDP socket: from sock_diag (`ss -uamp`) when possible, else /proc/net/udp{,6} and /proc/PID/fd. */
export async function readUdpSockViews(root: HostRoot): Promise<{ sockets: UdpSockView[]; sockDiag: boolean }> {
  const diag = await readSockDiag(root, 'udp');
  if (diag) {
    return {
      sockDiag: true,
      sockets: diag.map((s) => ({
        local: s.local, remote: s.peer, inode: s.inode, rxQueue: s.skmem?.r ?? s.recvQ, txQueue: s.skmem?.t ?? s.sendQ,
        rcvbuf: s.skmem?.rb ?? null, sndbuf: s.skmem?.tb ?? null, drops: s.skmem?.d ?? 0, pid: s.users[0]?.pid ?? null, program: s.users[0]?.program ?? null,
      })),
    };
  }
  const socks = await readUdpSockets(root);
  const owners = await socketOwners(root, new Set(socks.map((s) => s.inode)));
  return {
    sockDiag: false,
    sockets: socks.map((s) => ({
      local: s.local, remote: s.remote, inode: s.inode, rxQueue: s.rxQueue, txQueue: s.txQueue, rcvbuf: null, sndbuf: null, drops: s.drops,
      pid: owners.get(s.inode)?.pid ?? null, program: owners.get(s.inode)?.program ?? null,
    })),
  };
}

export async function sampleUdp(root: HostRoot, server?: ServerUdpTarget): Promise<UdpSample> {
  const [c, ipIn, socks, own] = await Promise.all([readUdpCounters(root), readIpIn(root), readUdpSockViews(root), server ? sampleServerUdp(server) : undefined]);
  return { at: Date.now(), ...c, ipIn, ...socks, ...(server && own ? { server: { target: server, sample: own } } : {}) };
}

function sum(a: UdpCounters, b: UdpCounters): UdpCounters {
  const out = { ...a };
  for (const k of UDP_COUNTERS) out[k] = a[k] + b[k];
  return out;
}

function minus(b: UdpCounters, a: UdpCounters): UdpCounters {
  const out = { ...b };
  for (const k of UDP_COUNTERS) out[k] = b[k] - a[k];
  return out;
}

const MB = 1024 * 1024;
/** how much traffic a receive buffer should hold */
export const BUFFER_SECONDS = 0.2;
/**
 * The kernel charges a queued datagram its skb truesize, not its payload: measured on this
 * project's VM, a 1,000-byte datagram on 127.0.0.1 costs 2,304 bytes of the receive buffer.
 */
export const TRUESIZE_FACTOR = 2;
/** assumed datagram size when the input has no IP byte counters */
const DEFAULT_DATAGRAM_BYTES = 1400;

/** "16M" for a byte count that is a whole number of MiB, else the bytes. */
export function sizeText(bytes: number): string {
  return bytes % MB === 0 ? `${bytes / MB}M` : String(bytes);
}

/**
 * The buffer size for `srsx tune --udp`: enough for BUFFER_SECONDS of the measured byte rate (as
 * the kernel charges it), rounded up to a power of two MiB, never below `current` (the ceiling in
 * force: tune --udp also sets it, and must not lower it).
 */
export function udpBufferSize(bytesPerSecond: number, current = 0): { bytes: number; text: string } {
  return pow2MiB(bytesPerSecond * BUFFER_SECONDS * TRUESIZE_FACTOR, current);
}

/** The smallest power of two MiB that holds `need` bytes, never below `current`. */
export function pow2MiB(need: number, current = 0): { bytes: number; text: string } {
  let mb = 1;
  while (mb * MB < need) mb *= 2;
  const bytes = Math.max(mb * MB, current);
  return { bytes, text: sizeText(bytes) };
}

/** The rates a verdict speaks of, from counter deltas over intervalS. */
export interface UdpRates {
  intervalS: number;
  /** datagrams that reached UDP (delivered + dropped for want of buffer) per second */
  arrivalsPerS: number;
  /** average IP packet size over the interval (IpExt), or the assumed 1,400 bytes */
  datagramBytes: number;
  datagramBytesMeasured: boolean;
  bytesPerS: number;
}

export function udpRates(delta: UdpCounters, intervalS: number, ipDelta?: IpIn): UdpRates {
  const arrivalsPerS = (delta.InDatagrams + delta.RcvbufErrors) / intervalS;
  const measured = ipDelta !== undefined && ipDelta.inPackets > 0 && ipDelta.inOctets > 0;
  const datagramBytes = measured ? Math.round(ipDelta!.inOctets / ipDelta!.inPackets) : DEFAULT_DATAGRAM_BYTES;
  return { intervalS, arrivalsPerS: Math.round(arrivalsPerS * 10) / 10, datagramBytes, datagramBytesMeasured: measured, bytesPerS: Math.round(arrivalsPerS * datagramBytes) };
}

export interface Sysctls {
  rmemDefault?: number;
  rmemMax?: number;
  wmemDefault?: number;
  wmemMax?: number;
}

export async function readUdpSysctls(root: HostRoot): Promise<Sysctls> {
  const n = async (k: string) => {
    const v = await readSysctl(root, k);
    return v === undefined ? undefined : Number(v);
  };
  return { rmemDefault: await n('net.core.rmem_default'), rmemMax: await n('net.core.rmem_max'), wmemDefault: await n('net.core.wmem_default'), wmemMax: await n('net.core.wmem_max') };
}

/** A dropping or send-blocked socket with the delta that concerns it. */
export interface SocketFinding extends UdpSockView {
  dropsDelta: number;
}

/** Whose buffer is it: the sysctl default, the sysctl ceiling (the application asked for more), or the application's SO_RCVBUF/SO_SNDBUF. */
export function bufferOrigin(buf: number, sysDefault: number | undefined, sysMax: number | undefined): 'default' | 'ceiling' | 'application' | 'unknown' {
  if (sysDefault === undefined) return 'unknown';
  if (buf === sysDefault) return 'default';
  // SO_RCVBUF/SO_SNDBUF are doubled by the kernel and capped at the *mem_max ceiling
  if (sysMax !== undefined && buf >= 2 * sysMax) return 'ceiling';
  return 'application';
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
/** The server udp-drops found: its socket is named as the server's, with its own loss counters. */
export interface ServerRef {
  pid: number;
  port: number;
  /** SO_RCVBUF it asked for (rtc_server recvbuf) */
  asked?: number;
  /** its loss=(r,s) counters over the interval */
  lossDelta?: { r: number; s: number };
}
const isServer = (s: UdpSockView, server?: ServerRef) => server !== undefined && s.pid === server.pid && s.local.endsWith(`:${server.port}`);
const who = (s: UdpSockView, server?: ServerRef) =>
  isServer(s, server) ? `${s.local} (srsx serve pid ${s.pid}, its WebRTC UDP port)` : `${s.local} (${s.program ?? '?'} pid ${s.pid ?? '?'})`;
const rateText = (r: UdpRates) =>
  `${r.arrivalsPerS} datagrams/s × ${r.datagramBytes} bytes${r.datagramBytesMeasured ? '' : ' (assumed)'} ≈ ${Math.round(r.bytesPerS / 1024)} KiB/s`;

/**
 * Verdicts on UDP counter deltas and the sockets that dropped / could not send.
 * `where` is "in 30s" or "since boot".
 */
export function udpVerdicts(
  delta: UdpCounters,
  rates: UdpRates,
  sys: Sysctls,
  dropping: SocketFinding[],
  sendFull: UdpSockView[],
  opts: { where: string; sockDiag: boolean; fromText?: boolean; server?: ServerRef },
): Verdict[] {
  const v: Verdict[] = [];
  const { where } = opts;
  const size = udpBufferSize(rates.bytesPerS, sys.rmemMax ?? 0);
  const received = delta.InDatagrams + delta.RcvbufErrors;
  const ratio = received > 0 ? delta.RcvbufErrors / received : 0;
  const level = (r: number): Verdict['level'] => (r >= 0.01 ? 'critical' : 'warn');
  const need = `${size.text} holds ${BUFFER_SECONDS * 1000} ms of the measured ${rateText(rates)}, as the kernel charges it (×${TRUESIZE_FACTOR})`;
  if (delta.RcvbufErrors > 0) {
    let explained = 0;
    for (const s of dropping) {
      if (s.rcvbuf === null) continue;
      const origin = bufferOrigin(s.rcvbuf, sys.rmemDefault, sys.rmemMax);
      explained += s.dropsDelta;
      const own = isServer(s, opts.server) ? opts.server : undefined;
      const head = `${who(s, opts.server)} dropped ${s.dropsDelta} received datagrams ${where} (RcvbufErrors ${delta.RcvbufErrors}, ${pct(ratio)} of received; threshold: any, critical at 1%)`;
      if (origin === 'application') {
        // SO_RCVBUF asks for half of what the socket gets (the kernel doubles it for skb overhead)
        const app = udpBufferSize(rates.bytesPerS);
        const want = app.bytes / 2;
        const ceiling = sys.rmemMax !== undefined && sys.rmemMax < want ? `; the kernel caps SO_RCVBUF at net.core.rmem_max=${sys.rmemMax}, raise that ceiling first: srsx tune --udp ${pow2MiB(want, sys.rmemMax).text}` : `; net.core.rmem_max=${sys.rmemMax ?? '?'} allows it`;
        v.push({
          level: level(ratio),
          reason: `${head}: its receive buffer is ${s.rcvbuf} bytes because the application set SO_RCVBUF=${s.rcvbuf / 2} (the kernel doubles it), ${s.rcvbuf < (sys.rmemDefault ?? 0) ? 'below' : 'above'} net.core.rmem_default=${sys.rmemDefault}: the cause is the application's SO_RCVBUF, and the sysctl defaults do not apply to it`,
          fix: own
            ? `in srsx serve (pid ${s.pid}): set rtc_server { recvbuf ${want}; } in its config and restart it (the kernel doubles it to ${app.text}: ${BUFFER_SECONDS * 1000} ms of the measured ${rateText(rates)}, as the kernel charges it)${ceiling}`
            : `in ${s.program ?? 'the application'} (pid ${s.pid ?? '?'}): set SO_RCVBUF to ${want} bytes or more (the kernel doubles it to ${app.text}: ${BUFFER_SECONDS * 1000} ms of the measured ${rateText(rates)}, as the kernel charges it)${ceiling}`,
        });
      } else {
        const why = origin === 'ceiling'
          ? `the application asked for more${own?.asked !== undefined ? ` (SO_RCVBUF ${own.asked}: rtc_server recvbuf)` : ''} but net.core.rmem_max=${sys.rmemMax} capped its SO_RCVBUF`
          : `the default net.core.rmem_default=${sys.rmemDefault}`;
        const counted = own?.lossDelta ? `; the server's own counters: loss=(r:${own.lossDelta.r},s:${own.lossDelta.s}) in the interval (r as it last read the kernel's count)` : '';
        v.push({
          level: level(ratio),
          reason: `${head}: its receive buffer is ${s.rcvbuf} bytes, ${why}; ${need}${counted}`,
          fix: `srsx tune --udp ${size.text}`,
        });
      }
    }
    if (explained < delta.RcvbufErrors) {
      const rest = delta.RcvbufErrors - explained;
      const unknown = opts.fromText
        ? '(netstat text does not say which sockets nor their buffer sizes: `srsx diagnose udp-drops` on that machine does)'
        : opts.sockDiag
        ? 'by sockets that are gone or not visible here'
        : 'and the socket buffer sizes are not known (no sock_diag: install iproute2 for `ss`, or run on the machine itself)';
      v.push({
        level: level(ratio),
        reason: `${rest} received datagrams dropped ${where} for want of receive buffer ${unknown} (RcvbufErrors, ${pct(ratio)} of received; threshold: any, critical at 1%); ${need}. If the program sets its own SO_RCVBUF, the sysctl default does not help it: the fix is then in the program (the sysctl ceiling net.core.rmem_max must allow it)`,
        fix: `srsx tune --udp ${size.text}`,
      });
    }
  }
  if (delta.SndbufErrors > 0) {
    const sent = delta.OutDatagrams + delta.SndbufErrors;
    const sratio = sent > 0 ? delta.SndbufErrors / sent : 0;
    const names = sendFull.map((s) => `${who(s, opts.server)} Send-Q ${s.txQueue} of its ${s.sndbuf ?? '?'}-byte send buffer${s.sndbuf !== null ? ` (${bufferOrigin(s.sndbuf, sys.wmemDefault, sys.wmemMax) === 'application' ? 'SO_SNDBUF set by the application' : 'the default net.core.wmem_default'})` : ''}`);
    const app = sendFull.filter((s) => s.sndbuf !== null && bufferOrigin(s.sndbuf, sys.wmemDefault, sys.wmemMax) === 'application');
    const wsize = udpBufferSize(sent / rates.intervalS * rates.datagramBytes, sys.wmemMax ?? 0);
    v.push({
      level: level(sratio),
      reason: `${delta.SndbufErrors} datagrams could not be sent ${where} because the sending socket's send buffer was full (SndbufErrors; ${pct(sratio)} of sent datagrams; threshold: any, critical at 1%): ${names.length ? `full send queues: ${names.join('; ')}` : 'no socket\'s send queue was full when sampled'}. The device or its qdisc drains slower than the program sends (see tc -s qdisc)`,
      fix: app.length
        ? `in ${app.map((s) => `${s.program ?? '?'} (pid ${s.pid ?? '?'})`).join(', ')}: set SO_SNDBUF to ${wsize.bytes} bytes or more (net.core.wmem_max=${sys.wmemMax ?? '?'} caps it${sys.wmemMax !== undefined && sys.wmemMax < wsize.bytes ? `: srsx tune --udp ${wsize.text} raises it` : ''}), or pace the sends`
        : `srsx tune --udp ${wsize.text}   (a bigger send buffer absorbs bursts; a sustained rate above what the link drains needs a slower sender)`,
    });
  }
  const serverSendErrors = opts.server?.lossDelta?.s ?? 0;
  if (serverSendErrors > 0 && delta.SndbufErrors === 0) {
    v.push({
      level: 'warn',
      reason: `srsx serve (pid ${opts.server!.pid}) failed to send ${serverSendErrors} datagrams on its WebRTC UDP port ${where} (its loss s counter; threshold: any) while the kernel counted no SndbufErrors: the sends were refused (e.g. EPERM from a firewall rule, or ENOBUFS/EAGAIN before the datagram reached UDP)`,
      fix: `see the server's log for the send error, and its socket's Send-Q: srsx diagnose udp-queue`,
    });
  }
  if (delta.InCsumErrors > 0) {
    v.push({
      level: 'warn',
      reason: `${delta.InCsumErrors} datagrams arrived with a bad UDP checksum ${where} (InCsumErrors; threshold: any): they were corrupted on the way — a NIC, cable, switch or driver offload fault, or a sender that computes checksums wrongly. Buffer sizes are not the cause`,
      fix: 'check the receiving NIC: ethtool -S <nic> (CRC/frame errors), ethtool -k <nic> (rx-checksumming), then the cable/switch port; a raw-socket sender must fill the checksum',
    });
  }
  const noPortsPerS = delta.NoPorts / rates.intervalS;
  if (delta.NoPorts >= 10 && noPortsPerS >= 1) {
    v.push({
      level: 'warn',
      reason: `${delta.NoPorts} datagrams (${noPortsPerS.toFixed(1)}/s) arrived for a port nothing listens on ${where} (NoPorts, "packets to unknown port received"; threshold: 10 and 1/s): clients send to a closed port (the kernel answers ICMP port unreachable)`,
      fix: 'compare the ports clients send to with the ones the server listens on: srsx diagnose udp-queue (and the server config\'s UDP listen ports, e.g. rtc_server/srt_server)',
    });
  }
  if (v.length === 0) {
    v.push(ok(`no UDP receive or send buffer errors, checksum errors or closed-port datagrams ${where} (${rateText(rates)} received)`));
  }
  return v;
}

/** Sockets whose send queue is at least half of their send buffer. */
export function fullSendQueues(sockets: UdpSockView[]): UdpSockView[] {
  return sockets.filter((s) => s.sndbuf !== null && s.sndbuf > 0 && s.txQueue >= s.sndbuf * 0.5);
}

/** `netstat -suna && sleep 30 && netstat -suna`, with verdicts and the sockets that dropped. */
export async function udpDropsReport(root: HostRoot, a: UdpSample, b: UdpSample): Promise<Report> {
  const intervalS = Math.max(0.001, (b.at - a.at) / 1000);
  const totalA = sum(a.udp, a.udp6);
  const totalB = sum(b.udp, b.udp6);
  const delta = minus(totalB, totalA);
  const rows = UDP_COUNTERS.map((k) => ({ counter: k, total: totalB[k], delta: delta[k], perSecond: Math.round((delta[k] / intervalS) * 10) / 10 }));
  const key = (s: UdpSockView) => s.inode ?? `${s.local}|${s.remote}`;
  const before = new Map(a.sockets.map((s) => [key(s), s.drops]));
  const dropping: SocketFinding[] = b.sockets
    .map((s) => ({ ...s, dropsDelta: s.drops - (before.get(key(s)) ?? 0) }))
    .filter((s) => s.dropsDelta > 0);
  // a send queue full at either sample (the first sample keeps the owner of a socket closed since)
  const fullB = fullSendQueues(b.sockets);
  const sendFull = [...fullB, ...fullSendQueues(a.sockets).filter((s) => !fullB.some((x) => key(x) === key(s)))];
  const sys = await readUdpSysctls(root);
  const ipDelta = a.ipIn && b.ipIn ? { inOctets: b.ipIn.inOctets - a.ipIn.inOctets, inPackets: b.ipIn.inPackets - a.ipIn.inPackets } : undefined;
  const rates = udpRates(delta, intervalS, ipDelta);
  const received = delta.InDatagrams + delta.RcvbufErrors;
  const shown = Math.round(intervalS * 10) / 10;
  const server = b.server ? serverUdpView(b.server.target, a.server?.sample, b.server.sample, a.sockets, b.sockets) : undefined;
  const serverRef: ServerRef | undefined = server?.pid != null && server.port !== undefined
    ? { pid: server.pid, port: server.port, asked: server.counters?.rcvbufAsked, ...(server.delta ? { lossDelta: { r: server.delta.recvDrops, s: server.delta.sendErrors } } : {}) }
    : undefined;
  return {
    kind: 'udp-drops',
    title: `UDP drops over ${intervalS.toFixed(1)}s (UDP + UDP6)`,
    intervalS,
    data: {
      counters: rows,
      dropRatio: received > 0 ? delta.RcvbufErrors / received : 0,
      rates,
      sockets: dropping.map((s) => ({ ...s, ...(serverRef && isServer(s, serverRef) ? { server: true } : {}), bufferOrigin: s.rcvbuf === null ? null : bufferOrigin(s.rcvbuf, sys.rmemDefault, sys.rmemMax) })),
      sendQueueFull: sendFull.map((s) => ({ ...s, bufferOrigin: s.sndbuf === null ? null : bufferOrigin(s.sndbuf, sys.wmemDefault, sys.wmemMax) })),
      sockDiag: b.sockDiag,
      rmemDefault: sys.rmemDefault ?? null,
      rmemMax: sys.rmemMax ?? null,
      wmemDefault: sys.wmemDefault ?? null,
      wmemMax: sys.wmemMax ?? null,
      ...(server ? { server } : {}),
    },
    verdicts: udpVerdicts(delta, rates, sys, dropping, sendFull, { where: `in ${shown}s`, sockDiag: b.sockDiag, ...(serverRef ? { server: serverRef } : {}) }),
  };
}

/**
 * Analysis of pasted `netstat -suna` text. With two or more samples (the guide's
 * `netstat -suna && sleep 30 && netstat -suna`) the first and last give deltas and rates over
 * `intervalS` (the time between them: 30 s in the guide); with one, totals since boot.
 */
export function netstatTextReport(samples: NetstatSample[], intervalS = 30): Report {
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const two = samples.length >= 2;
  const delta = two ? minus(last.counters, first.counters) : last.counters;
  const span = two ? intervalS * (samples.length - 1) : 1;
  const ipDelta = two && first.ipIn && last.ipIn ? { inOctets: last.ipIn.inOctets - first.ipIn.inOctets, inPackets: last.ipIn.inPackets - first.ipIn.inPackets } : undefined;
  const rates = udpRates(delta, two ? span : 1, ipDelta);
  const received = delta.InDatagrams + delta.RcvbufErrors;
  const ratio = received > 0 ? delta.RcvbufErrors / received : 0;
  const where = two ? `in ${span}s (first and last of ${samples.length} samples)` : 'since boot';
  const verdicts = two
    ? udpVerdicts(delta, rates, {}, [], [], { where, sockDiag: false, fromText: true })
    : sinceBootVerdicts(delta, ratio);
  return {
    kind: 'udp-drops',
    title: two ? `UDP counters from netstat -suna text: ${samples.length} samples, ${span}s apart (--interval)` : 'UDP counters from netstat -suna text (totals since boot)',
    ...(two ? { intervalS: span } : {}),
    data: {
      samples: samples.length,
      counters: last.seen.map((k) => ({ counter: k, total: last.counters[k], ...(two ? { delta: delta[k], perSecond: Math.round((delta[k] / span) * 10) / 10 } : {}) })),
      dropRatio: ratio,
      ...(two ? { rates } : {}),
      sockets: [],
    },
    verdicts,
  };
}

function sinceBootVerdicts(c: UdpCounters, ratio: number): Verdict[] {
  const v: Verdict[] = [];
  if (c.RcvbufErrors > 0 || c.SndbufErrors > 0) {
    v.push({
      level: ratio >= 0.01 || c.SndbufErrors > 0 ? 'critical' : 'warn',
      reason: `since boot: ${c.RcvbufErrors} received datagrams dropped for want of receive buffer (${pct(ratio)} of received, critical at 1%), ${c.SndbufErrors} datagrams not sent for want of send buffer; one sample cannot tell whether they still grow nor the rate`,
      fix: 'paste two samples: netstat -suna && sleep 30 && netstat -suna | srsx diagnose udp-drops --from -   (or run srsx diagnose udp-drops on that machine: it reads each socket\'s buffer)',
    });
  }
  if (c.InCsumErrors > 0) v.push({ level: 'warn', reason: `since boot: ${c.InCsumErrors} datagrams with a bad UDP checksum (InCsumErrors; threshold: any)`, fix: 'check the receiving NIC: ethtool -S <nic>, ethtool -k <nic>, the cable/switch port' });
  if (v.length === 0) v.push(ok('no receive or send buffer errors and no checksum errors since boot (one sample: rates unknown)'));
  return v;
}

/** `netstat -lpun`: each UDP socket's queues against its own buffer, with the owner. */
export async function udpQueueReport(root: HostRoot): Promise<Report> {
  const { sockets, sockDiag } = await readUdpSockViews(root);
  const sys = await readUdpSysctls(root);
  const rmemDefault = sys.rmemDefault ?? 212992;
  const rows = sockets.map((s) => ({ ...s, rcvbufOrigin: s.rcvbuf === null ? null : bufferOrigin(s.rcvbuf, sys.rmemDefault, sys.rmemMax) }));
  const full = rows.filter((s) => s.rxQueue > (s.rcvbuf ?? rmemDefault) * 0.5);
  const v: Verdict[] = full.map((s) => ({
    level: 'warn' as const,
    reason: `${who(s)} has ${s.rxQueue} bytes waiting, over half of its ${s.rcvbuf ?? rmemDefault}-byte receive buffer (${s.rcvbuf === null ? 'assumed net.core.rmem_default' : s.rcvbufOrigin === 'application' ? "the application's SO_RCVBUF" : 'net.core.rmem_default'}; threshold 50%): the program reads too slowly for the traffic`,
    fix: s.rcvbufOrigin === 'application'
      ? `in ${s.program ?? 'the application'} (pid ${s.pid ?? '?'}): read faster or set a bigger SO_RCVBUF (capped at net.core.rmem_max=${sys.rmemMax ?? '?'})`
      : `srsx diagnose udp-drops --interval 30s   (measures the rate and sizes the buffer)`,
  }));
  if (v.length === 0) v.push(ok(`no UDP socket's receive queue is over half of its ${sockDiag ? 'own receive buffer' : `assumed ${rmemDefault}-byte buffer`} (${rows.length} sockets)`));
  return { kind: 'udp-queue', title: 'UDP sockets (netstat -lpun)', data: { sockets: rows, rmemDefault, sockDiag }, verdicts: v };
}
