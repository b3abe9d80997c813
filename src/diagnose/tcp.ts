import { readSockDiag, type SockRecord } from '../host/sock-diag.js';
import type { HostRoot } from '../host/root.js';
import { serverArg, type ServerRef } from './cpu.js';
import { ok, type Report, type Verdict } from './report.js';

export interface TcpSample {
  at: number;
  /** the server's established TCP connections; undefined when sock_diag could not be read */
  sockets?: SockRecord[];
}

/** The server's established connections (sock_diag via `ss -tnpmei`). */
export async function sampleTcp(root: HostRoot, serverPid?: number): Promise<TcpSample> {
  if (serverPid === undefined) return { at: Date.now(), sockets: [] };
  const all = await readSockDiag(root, 'tcp');
  return { at: Date.now(), sockets: all?.filter((s) => s.state === 'ESTAB' && s.users.some((u) => u.pid === serverPid)) };
}

export const STALL_MIN_BYTES = 64 * 1024; // a kernel send queue this big that grows (or is not acknowledged) is a stalled player
export const RETRANS_SHARE = 0.02; // retransmitted / sent segments over the interval
export const RETRANS_MIN = 10;

export interface TcpConnRow {
  local: string;
  peer: string;
  sendQ: number;
  sendQBefore: number;
  /** bytes the application wrote that TCP has not sent yet (part of Send-Q) */
  notsent: number;
  ackedBytes: number;
  retrans: number;
  segsOut: number;
  lastSndMs: number | null;
  rwndLimitedMs: number | null;
  stalled: boolean;
}

/** Rows and verdicts from two samples of the server's connections (pure). */
export function tcpVerdicts(a: SockRecord[], b: SockRecord[], intervalS: number, serverPid: number, arg: string): { rows: TcpConnRow[]; verdicts: Verdict[] } {
  const key = (s: SockRecord) => `${s.local}|${s.peer}`;
  const before = new Map(a.map((s) => [key(s), s]));
  const rows: TcpConnRow[] = [];
  const v: Verdict[] = [];
  const secs = intervalS.toFixed(1);
  for (const s of b) {
    const p = before.get(key(s));
    const acked = p && s.tcp && p.tcp ? s.tcp.bytesAcked - p.tcp.bytesAcked : 0;
    const retrans = p && s.tcp && p.tcp ? s.tcp.retrans - p.tcp.retrans : 0;
    const segs = p && s.tcp && p.tcp ? s.tcp.segsOut - p.tcp.segsOut : 0;
    const grew = p !== undefined && s.sendQ > p.sendQ;
    const stuck = p !== undefined && p.sendQ > 0 && acked === 0;
    const stalled = p !== undefined && s.sendQ >= STALL_MIN_BYTES && (grew || stuck);
    rows.push({ local: s.local, peer: s.peer, sendQ: s.sendQ, sendQBefore: p?.sendQ ?? s.sendQ, notsent: s.tcp?.notsent ?? 0, ackedBytes: acked, retrans, segsOut: segs, lastSndMs: s.tcp?.lastSndMs ?? null, rwndLimitedMs: s.tcp?.rwndLimitedMs ?? null, stalled });
    if (stalled) {
      const howLong = stuck && s.tcp?.lastSndMs != null && s.tcp.lastSndMs / 1000 > intervalS
        ? `nothing sent to it for ${(s.tcp.lastSndMs / 1000).toFixed(1)}s`
        : `its queue grew for at least ${secs}s`;
      v.push({
        level: 'warn',
        reason: `stalled player ${s.peer} (server ${s.local}, pid ${serverPid}): its kernel send queue ${grew ? `grew from ${p!.sendQ} to ${s.sendQ}` : `stayed at ${s.sendQ}`} bytes in ${secs}s with ${acked} bytes acknowledged — ${howLong}${s.tcp?.rwndLimitedMs ? `; limited by the player's receive window for ${(s.tcp.rwndLimitedMs / 1000).toFixed(1)}s of its life` : ''} (threshold: Send-Q ≥ ${STALL_MIN_BYTES / 1024} KiB and growing or unacknowledged): the player reads slower than the stream`,
        fix: `nothing on this host: the player or its link is too slow for the stream. The server buffers for it meanwhile: cap that with the vhost's play { queue_length SECONDS; }, check the path with mtr ${s.peer.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')}`,
      });
    } else if (retrans >= RETRANS_MIN && segs > 0 && retrans / segs >= RETRANS_SHARE) {
      v.push({
        level: 'warn',
        reason: `player ${s.peer} (server ${s.local}, pid ${serverPid}): ${retrans} of ${segs} segments retransmitted in ${secs}s (${((retrans / segs) * 100).toFixed(1)}%; threshold ${RETRANS_SHARE * 100}% and ${RETRANS_MIN}): packets are lost on the way to it`,
        fix: `check the path to it: mtr -rwc 50 ${s.peer.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')}; loss the server cannot fix (srsx tune ${arg} does not apply)`,
      });
    }
  }
  if (v.length === 0) v.push(ok(`${b.length} connection(s) of the server (pid ${serverPid}): no kernel send queue ≥ ${STALL_MIN_BYTES / 1024} KiB that grows or goes unacknowledged, retransmits under ${RETRANS_SHARE * 100}% over ${secs}s`));
  return { rows, verdicts: v };
}

/** Per-connection kernel send queues and retransmits of the server's TCP sockets (`ss -tnpi`). */
export function tcpReport(a: TcpSample, b: TcpSample, serverPid: number | undefined, ref: ServerRef = {}): Report {
  const intervalS = Math.max(0.001, (b.at - a.at) / 1000);
  const title = `the server's TCP connections over ${intervalS.toFixed(1)}s (ss -tnpi)`;
  if (serverPid === undefined) return { kind: 'tcp', title, intervalS, data: { pid: null, connections: [] }, verdicts: [ok('no server process: its TCP connections were not checked (give --pid or --pidfile)')] };
  if (!a.sockets || !b.sockets) return { kind: 'tcp', title, intervalS, data: { pid: serverPid, connections: [] }, verdicts: [ok('sock_diag could not be read (install iproute2 for `ss`): per-connection queues were not checked')] };
  const { rows, verdicts } = tcpVerdicts(a.sockets, b.sockets, intervalS, serverPid, serverArg({ pid: serverPid, ...ref }));
  return { kind: 'tcp', title, intervalS, data: { pid: serverPid, connections: rows, stalled: rows.filter((r) => r.stalled).length }, verdicts };
}
