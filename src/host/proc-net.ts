import { z } from 'zod';
import { UserError } from '../errors.js';
import type { HostRoot } from './root.js';

/** UDP counters as the kernel names them (/proc/net/snmp "Udp:" and /proc/net/snmp6 "Udp6*"). */
export const UdpCountersSchema = z.object({
  InDatagrams: z.number(),
  NoPorts: z.number(),
  InErrors: z.number(),
  OutDatagrams: z.number(),
  RcvbufErrors: z.number(),
  SndbufErrors: z.number(),
  InCsumErrors: z.number(),
  IgnoredMulti: z.number(),
});
export type UdpCounters = z.infer<typeof UdpCountersSchema>;
export const UDP_COUNTERS = ['InDatagrams', 'NoPorts', 'InErrors', 'OutDatagrams', 'RcvbufErrors', 'SndbufErrors', 'InCsumErrors', 'IgnoredMulti'] as const;

function zeroCounters(): UdpCounters {
  return { InDatagrams: 0, NoPorts: 0, InErrors: 0, OutDatagrams: 0, RcvbufErrors: 0, SndbufErrors: 0, InCsumErrors: 0, IgnoredMulti: 0 };
}

/** /proc/net/snmp: pairs of "Proto: names" / "Proto: values" lines → the Udp row. */
export function parseSnmpUdp(text: string): UdpCounters {
  const lines = text.split('\n').filter((l) => l.startsWith('Udp:'));
  if (lines.length < 2) throw new Error('/proc/net/snmp has no Udp rows');
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  const out = zeroCounters();
  names.forEach((n, i) => {
    if (n in out) out[n as keyof UdpCounters] = values[i] ?? 0;
  });
  return UdpCountersSchema.parse(out);
}

/** /proc/net/snmp6: "Udp6InDatagrams   123" lines. */
export function parseSnmp6Udp(text: string): UdpCounters {
  const out = zeroCounters();
  for (const line of text.split('\n')) {
    const m = /^Udp6(\w+)\s+(\d+)/.exec(line);
    if (m && m[1]! in out) out[m[1] as keyof UdpCounters] = Number(m[2]);
  }
  return UdpCountersSchema.parse(out);
}

const NETSTAT_PHRASES: Array<[RegExp, keyof UdpCounters]> = [
  [/^(\d+) packets? received$/, 'InDatagrams'],
  [/^(\d+) packets? to unknown port received\.?$/, 'NoPorts'],
  [/^(\d+) packets? receive errors?$/, 'InErrors'],
  [/^(\d+) packets? sent$/, 'OutDatagrams'],
  [/^(\d+) receive buffer errors?$/, 'RcvbufErrors'],
  [/^(\d+) send buffer errors?$/, 'SndbufErrors'],
  [/^InCsumErrors: (\d+)$/, 'InCsumErrors'],
  [/^IgnoredMulti: (\d+)$/, 'IgnoredMulti'],
];

/**
 * The "Udp:" section of net-tools `netstat -su` / `netstat -suna` text (any version; other
 * sections are ignored). Throws a UserError when the text has no such section.
 */
export function parseNetstatSu(text: string): { counters: UdpCounters; seen: Array<keyof UdpCounters> } {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^Udp:\s*$/.test(l.trim()) && !/^\s/.test(l));
  if (start < 0) throw new UserError('the input is not `netstat -su` output (no "Udp:" section)', { hint: 'paste the output of `netstat -suna` (net-tools), e.g. srsx diagnose udp-drops --from netstat.txt' });
  const out = zeroCounters();
  const seen: Array<keyof UdpCounters> = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) break; // next section
    const t = line.trim();
    for (const [re, key] of NETSTAT_PHRASES) {
      const m = re.exec(t);
      if (m) {
        out[key] = Number(m[1]);
        seen.push(key);
      }
    }
  }
  if (seen.length === 0) throw new UserError('the "Udp:" section of the input has no counters netstat prints', { hint: 'paste the whole output of `netstat -suna`' });
  return { counters: UdpCountersSchema.parse(out), seen };
}

export async function readUdpCounters(root: HostRoot): Promise<{ udp: UdpCounters; udp6: UdpCounters }> {
  const snmp = await root.read('/proc/net/snmp');
  const snmp6 = await root.readOptional('/proc/net/snmp6');
  return { udp: parseSnmpUdp(snmp), udp6: snmp6 ? parseSnmp6Udp(snmp6) : zeroCounters() };
}

// ---------------------------------------------------------------- sockets

export const UdpSocketSchema = z.object({
  family: z.enum(['udp', 'udp6']),
  local: z.string(),
  remote: z.string(),
  state: z.number(),
  txQueue: z.number(),
  rxQueue: z.number(),
  uid: z.number(),
  inode: z.number(),
  drops: z.number(),
});
export type UdpSocket = z.infer<typeof UdpSocketSchema>;

function hexAddr(hex: string, family: 'udp' | 'udp6'): string {
  const [addr, port] = hex.split(':') as [string, string];
  const p = parseInt(port, 16);
  if (family === 'udp') {
    const n = parseInt(addr, 16);
    return `${n & 0xff}.${(n >> 8) & 0xff}.${(n >> 16) & 0xff}.${(n >>> 24) & 0xff}:${p}`;
  }
  // four little-endian 32-bit words
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const w = addr.slice(i, i + 8);
    const le = w.match(/../g)!.reverse().join('');
    words.push(le.slice(0, 4), le.slice(4));
  }
  const compact = words.map((w) => w.replace(/^0+(?=.)/, '').toLowerCase()).join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  return `[${compact}]:${p}`;
}

/** /proc/net/udp or udp6: one record per socket, with the drops column. */
export function parseProcNetUdp(text: string, family: 'udp' | 'udp6'): UdpSocket[] {
  const out: UdpSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const [tx, rx] = f[4]!.split(':');
    out.push(UdpSocketSchema.parse({
      family,
      local: hexAddr(f[1]!, family),
      remote: hexAddr(f[2]!, family),
      state: parseInt(f[3]!, 16),
      txQueue: parseInt(tx!, 16),
      rxQueue: parseInt(rx!, 16),
      uid: Number(f[7]),
      inode: Number(f[9]),
      drops: Number(f[f.length - 1]),
    }));
  }
  return out;
}

export async function readUdpSockets(root: HostRoot): Promise<UdpSocket[]> {
  const v4 = await root.readOptional('/proc/net/udp');
  const v6 = await root.readOptional('/proc/net/udp6');
  return [...(v4 ? parseProcNetUdp(v4, 'udp') : []), ...(v6 ? parseProcNetUdp(v6, 'udp6') : [])];
}

/** TCP sockets in state ESTABLISHED (01) from /proc/net/tcp{,6} text: their inodes. */
export function establishedInodes(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[3] === '01') out.push(Number(f[9]));
  }
  return out;
}

/** TCP sockets listening (state 0A) on `port`, from /proc/net/tcp{,6} text: their inodes. */
export function listeningInodes(text: string, port: number): number[] {
  const out: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[3] === '0A' && Number.parseInt(f[1]!.split(':')[1] ?? '', 16) === port) out.push(Number(f[9]));
  }
  return out;
}

/** The pids that hold a TCP socket listening on `port`. */
export async function tcpListenerPids(root: HostRoot, port: number): Promise<number[]> {
  const inodes = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const inode of listeningInodes((await root.readOptional(file)) ?? '', port)) inodes.add(inode);
  }
  if (inodes.size === 0) return [];
  return [...new Set([...(await socketOwners(root, inodes)).values()].map((o) => o.pid))];
}

/** socket inode → { pid, program } by scanning /proc/PID/fd links ("socket:[inode]"). */
export async function socketOwners(root: HostRoot, inodes?: Set<number>): Promise<Map<number, { pid: number; program: string }>> {
  const owners = new Map<number, { pid: number; program: string }>();
  for (const entry of await root.list('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let fds: string[];
    try {
      fds = await root.list(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    let program: string | undefined;
    for (const fd of fds) {
      const link = await root.readLink(`/proc/${pid}/fd/${fd}`);
      const m = link ? /^socket:\[(\d+)\]$/.exec(link) : null;
      if (!m) continue;
      const inode = Number(m[1]);
      if (inodes && !inodes.has(inode)) continue;
      program ??= ((await root.readOptional(`/proc/${pid}/comm`)) ?? '?').trim();
      if (!owners.has(inode)) owners.set(inode, { pid, program });
    }
  }
  return owners;
}

// ---------------------------------------------------------------- interfaces

export interface IfaceCounters {
  name: string;
  rxBytes: number;
  rxPackets: number;
  rxDrop: number;
  txBytes: number;
  txPackets: number;
  txDrop: number;
}

/** /proc/net/dev */
export function parseNetDev(text: string): IfaceCounters[] {
  const out: IfaceCounters[] = [];
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out.push({ name: m[1]!.trim(), rxBytes: f[0]!, rxPackets: f[1]!, rxDrop: f[3]!, txBytes: f[8]!, txPackets: f[9]!, txDrop: f[11]! });
  }
  return out;
}

// ---------------------------------------------------------------- IP bytes (average datagram size)

/** Bytes and packets IP received (IpExt InOctets and the In*ECT*Pkts counters, which add up to all packets). */
export const IpInSchema = z.object({ inOctets: z.number(), inPackets: z.number() });
export type IpIn = z.infer<typeof IpInSchema>;

function ipInFrom(values: Map<string, number>): IpIn | undefined {
  if (!values.has('InOctets')) return undefined;
  const pkts = ['InNoECTPkts', 'InECT1Pkts', 'InECT0Pkts', 'InCEPkts'].reduce((s, k) => s + (values.get(k) ?? 0), 0);
  return IpInSchema.parse({ inOctets: values.get('InOctets'), inPackets: pkts });
}

/** /proc/net/netstat: the IpExt row pair. */
export function parseProcNetstatIpExt(text: string): IpIn | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('IpExt:'));
  if (lines.length < 2) return undefined;
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  return ipInFrom(new Map(names.map((n, i) => [n, values[i] ?? 0])));
}

export async function readIpIn(root: HostRoot): Promise<IpIn | undefined> {
  const text = await root.readOptional('/proc/net/netstat');
  return text ? parseProcNetstatIpExt(text) : undefined;
}

/** One `netstat -su` sample from text: its Udp counters (and which lines were there) and IpExt bytes. */
export interface NetstatSample {
  counters: UdpCounters;
  seen: Array<keyof UdpCounters>;
  ipIn?: IpIn;
}

/**
 * Every sample in `netstat -suna` text: the guide's `netstat -suna && sleep 30 && netstat -suna`
 * prints two (one "Udp:" section each). Throws a UserError when there is none.
 */
export function parseNetstatSamples(text: string): NetstatSample[] {
  const lines = text.split(/\r?\n/);
  const starts = lines.flatMap((l, i) => (/^Udp:\s*$/.test(l) ? [i] : []));
  if (starts.length === 0) return [{ ...parseNetstatSu(text) }]; // throws the clear error
  return starts.map((start, n) => {
    const end = starts[n + 1] ?? lines.length;
    const chunk = lines.slice(start, end);
    const { counters, seen } = parseNetstatSu(chunk.join('\n'));
    const ip = new Map<string, number>();
    const ipAt = chunk.findIndex((l) => /^IpExt:\s*$/.test(l));
    if (ipAt >= 0) {
      for (const l of chunk.slice(ipAt + 1)) {
        const m = /^\s+(\w+): (\d+)$/.exec(l);
        if (!m) break;
        ip.set(m[1]!, Number(m[2]));
      }
    }
    return { counters, seen, ipIn: ipInFrom(ip) };
  });
}

/** A /proc/net/tcp{,6} address as 'ip:port' (IPv4-mapped IPv6 addresses as plain IPv4, like Node's sockets report them once '::ffff:' is removed). */
function tcpPeer(hex: string, family: 'tcp' | 'tcp6'): string {
  const [addr, portHex] = hex.split(':') as [string, string];
  const port = parseInt(portHex, 16);
  if (family === 'tcp6' && addr.length === 32 && addr.startsWith('0000000000000000FFFF0000')) {
    return `${hexAddr(`${addr.slice(24)}:${portHex}`, 'udp')}`;
  }
  if (family === 'tcp') return hexAddr(hex, 'udp');
  const full = hexAddr(hex, 'udp6'); // '[a:b::c]:port'
  return `${full.slice(1, full.lastIndexOf(']'))}:${port}`;
}

/**
 * Established TCP sockets' send queues from /proc/net/tcp{,6} text: remote 'ip:port' → tx_queue bytes
 * (the kernel's Send-Q: bytes not yet acknowledged by the peer, as `ss -tn` shows). Pure.
 */
export function parseTcpSendQueues(text: string, family: 'tcp' | 'tcp6'): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== '01') continue;
    out.set(tcpPeer(f[2]!, family), parseInt(f[4]!.split(':')[0]!, 16));
  }
  return out;
}

/** The kernel send queue of every established TCP socket on the host, by remote 'ip:port'. */
export async function readTcpSendQueues(root: HostRoot): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const family of ['tcp', 'tcp6'] as const) {
    const text = await root.readOptional(`/proc/net/${family}`);
    if (text) for (const [k, v] of parseTcpSendQueues(text, family)) out.set(k, Math.max(v, out.get(k) ?? 0));
  }
  return out;
}
