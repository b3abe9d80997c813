import { z } from 'zod';
import { hasCommand, runCommand } from './exec.js';
import type { HostRoot } from './root.js';

/**
 * Per-socket kernel facts from sock_diag, read through iproute2's `ss` (one line per socket with
 * -O): queues, the socket's own buffer sizes and drop count (skmem), its owners, and for TCP the
 * tcp_info fields a stalled player shows (unacked/not-sent bytes, retransmits, time since the
 * last ACK).
 */

export const SkMemSchema = z.object({
  /** receive queue, bytes as the kernel charges them (sk_rmem_alloc, skb truesize) */
  r: z.number(),
  /** the socket's receive buffer (sk_rcvbuf: twice what SO_RCVBUF asked, or net.core.rmem_default) */
  rb: z.number(),
  /** send queue (sk_wmem_alloc): datagrams/segments not yet freed by the device */
  t: z.number(),
  /** the socket's send buffer (sk_sndbuf) */
  tb: z.number(),
  f: z.number(),
  w: z.number(),
  o: z.number(),
  bl: z.number(),
  /** datagrams the socket dropped (sk_drops) */
  d: z.number(),
});
export type SkMem = z.infer<typeof SkMemSchema>;

export const TcpInfoSchema = z.object({
  /** total retransmitted segments (tcpi_total_retrans) */
  retrans: z.number(),
  segsOut: z.number(),
  bytesSent: z.number(),
  bytesAcked: z.number(),
  /** bytes the application wrote that TCP has not sent yet */
  notsent: z.number(),
  unacked: z.number(),
  rttMs: z.number().nullable(),
  lastSndMs: z.number().nullable(),
  lastRcvMs: z.number().nullable(),
  lastAckMs: z.number().nullable(),
  /** time the connection had data to send, and how much of it the peer's receive window held it back */
  busyMs: z.number().nullable(),
  rwndLimitedMs: z.number().nullable(),
});
export type TcpInfo = z.infer<typeof TcpInfoSchema>;

export const SockUserSchema = z.object({ program: z.string(), pid: z.number().int(), fd: z.number().int() });

export const SockRecordSchema = z.object({
  state: z.string(),
  recvQ: z.number(),
  sendQ: z.number(),
  local: z.string(),
  peer: z.string(),
  users: z.array(SockUserSchema),
  inode: z.number().nullable(),
  skmem: SkMemSchema.nullable(),
  tcp: TcpInfoSchema.nullable(),
});
export type SockRecord = z.infer<typeof SockRecordSchema>;

function parseSkmem(text: string): SkMem | null {
  const m = /skmem:\(([^)]*)\)/.exec(text);
  if (!m) return null;
  const out: Record<string, number> = {};
  for (const part of m[1]!.split(',')) {
    const kv = /^([a-z]+)(\d+)$/.exec(part.trim());
    if (kv) out[kv[1]!] = Number(kv[2]);
  }
  return SkMemSchema.parse({ r: 0, rb: 0, t: 0, tb: 0, f: 0, w: 0, o: 0, bl: 0, d: 0, ...out });
}

function num(text: string, re: RegExp): number | null {
  const m = re.exec(text);
  return m ? Number(m[1]) : null;
}

function parseTcpInfo(text: string): TcpInfo | null {
  if (!/\b(bytes_acked|segs_out|rto):/.test(text)) return null;
  return TcpInfoSchema.parse({
    retrans: num(text, /\bretrans:\d+\/(\d+)/) ?? 0,
    segsOut: num(text, /\bsegs_out:(\d+)/) ?? 0,
    bytesSent: num(text, /\bbytes_sent:(\d+)/) ?? 0,
    bytesAcked: num(text, /\bbytes_acked:(\d+)/) ?? 0,
    notsent: num(text, /\bnotsent:(\d+)/) ?? 0,
    unacked: num(text, /\bunacked:(\d+)/) ?? 0,
    rttMs: num(text, /\brtt:([\d.]+)\//),
    lastSndMs: num(text, /\blastsnd:(\d+)/),
    lastRcvMs: num(text, /\blastrcv:(\d+)/),
    lastAckMs: num(text, /\blastack:(\d+)/),
    busyMs: num(text, /\bbusy:(\d+)ms/),
    rwndLimitedMs: num(text, /\brwnd_limited:(\d+)ms/),
  });
}

/**
 * `ss -HOn -p -m -e [-i] -u|-t [-a]` text (iproute2 ≥ 5: one line per socket, no header, no Netid
 * column when one protocol is asked for) → one record per socket. Lines that are not sockets are
 * skipped.
 */
export function parseSs(text: string): SockRecord[] {
  const out: SockRecord[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)(.*)$/.exec(line.trim());
    if (!m || /^(State|Netid)$/.test(m[1]!)) continue;
    const rest = m[6]!;
    const users: Array<z.infer<typeof SockUserSchema>> = [];
    const u = /users:\((.*?\))\)/.exec(rest);
    if (u) for (const x of u[1]!.matchAll(/\("((?:[^"\\]|\\.)*)",pid=(\d+),fd=(\d+)\)/g)) users.push({ program: x[1]!, pid: Number(x[2]), fd: Number(x[3]) });
    out.push(SockRecordSchema.parse({
      state: m[1],
      recvQ: Number(m[2]),
      sendQ: Number(m[3]),
      local: m[4],
      peer: m[5],
      users,
      inode: num(rest, /\bino:(\d+)/),
      skmem: parseSkmem(rest),
      tcp: parseTcpInfo(rest),
    }));
  }
  return out;
}

let ssAvailable: boolean | undefined;

/**
 * The sockets of this network namespace via sock_diag (`ss`): UDP (all, bound or connected) or
 * TCP (established). undefined when sock_diag cannot be read: a fixture host root, or no `ss`
 * (iproute2) installed — callers then fall back to /proc/net/{udp,tcp}.
 */
export async function readSockDiag(root: HostRoot, proto: 'udp' | 'tcp'): Promise<SockRecord[] | undefined> {
  if (!root.isReal) return undefined;
  ssAvailable ??= await hasCommand('ss');
  if (!ssAvailable) return undefined;
  const args = proto === 'udp' ? ['-HOnapme', '-u'] : ['-HOnpmei', '-t'];
  const r = await runCommand('ss', args, { timeoutMs: 10_000 });
  if (r.exitCode !== 0) return undefined;
  return parseSs(r.stdout);
}
