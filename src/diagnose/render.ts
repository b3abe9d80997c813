import chalk from 'chalk';
import { colourVerdict, renderFacts, renderTable, type Column } from '../report/render.js';
import type { Report } from './report.js';
import { serverUdpLine, type ServerUdpView } from './server-udp.js';

type Row = Record<string, unknown>;

/**
 * A cell for people: lists joined with spaces, objects as `key=value` pairs (never JSON; --json is
 * the place for the data as it is), numbers rounded by the table.
 */
export function cellText(v: unknown): string | number | boolean {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' && x !== null ? cellText(x) : String(x))).join(' ');
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${typeof x === 'number' && !Number.isInteger(x) ? x.toFixed(2) : cellText(x)}`).join(' ');
  return v as string | number | boolean;
}

function autoColumns(rows: Row[]): Column<Row>[] {
  const keys = rows.length ? Object.keys(rows[0]!) : [];
  return keys.map((k) => ({
    header: k,
    value: (r: Row) => cellText(r[k]),
    align: typeof rows[0]![k] === 'number' ? ('right' as const) : ('left' as const),
  }));
}

const pct = (header: string, key: string): Column<Row> => ({ header, value: (r) => r[key] as number, align: 'right' });

/** The cpu report's tables, column by column (mpstat's names, % of each CPU). */
const CPU_COLUMNS: Column<Row>[] = [
  { header: 'CPU', value: (r) => r.cpu as number, align: 'right' },
  pct('%usr', 'usr'),
  pct('%nice', 'nice'),
  pct('%sys', 'sys'),
  pct('%iowait', 'iowait'),
  pct('%irq', 'irq'),
  pct('%soft', 'soft'),
  pct('%steal', 'steal'),
  pct('%idle', 'idle'),
  { header: 'NET_RX/s', value: (r) => Math.round(r.netRxPerS as number), align: 'right' },
  { header: 'NET_TX/s', value: (r) => Math.round(r.netTxPerS as number), align: 'right' },
];
const THREAD_COLUMNS: Column<Row>[] = [
  { header: 'tid', value: (r) => r.tid as number, align: 'right' },
  { header: 'name', value: (r) => r.comm as string },
  { header: '%CPU', value: (r) => r.percent as number, align: 'right' },
  { header: 'last CPU', value: (r) => r.cpu as number, align: 'right' },
];
const PROCESS_COLUMNS: Column<Row>[] = [
  { header: 'pid', value: (r) => r.pid as number, align: 'right' },
  { header: 'name', value: (r) => r.comm as string },
  { header: '%CPU', value: (r) => r.percent as number, align: 'right' },
  { header: 'on CPUs', value: (r) => (r.cpus as number[]).join(',') },
];

function renderCpu(d: Record<string, unknown>): string[] {
  const parts = [renderTable((d.cpus as Row[]) ?? [], CPU_COLUMNS)];
  const rx = d.rxPacketsPerS as { nic: number; lo: number } | undefined;
  if (rx) parts.push(`packets received: ${rx.nic}/s on NICs, ${rx.lo}/s on loopback`);
  if (d.server) {
    const sv = d.server as { pid: number; cpusAllowed: number[]; percentByCpu?: Record<string, number>; runMs: number; waitMs: number; threads: Row[] };
    const byCpu = Object.entries(sv.percentByCpu ?? {}).filter(([, p]) => p > 0).map(([c, p]) => `CPU ${c} ${p}%`).join(', ');
    parts.push(`server pid ${sv.pid} on CPUs ${sv.cpusAllowed.join(',') || 'all'}: ran ${sv.runMs} ms, waited ${sv.waitMs} ms for a CPU${byCpu ? `; used ${byCpu}` : ''}`);
    parts.push(renderTable(sv.threads.filter((t) => (t.percent as number) > 0), THREAD_COLUMNS, 'server threads using CPU'));
  }
  if ((d.busyProcesses as unknown[] | undefined)?.length) parts.push(renderTable(d.busyProcesses as Row[], PROCESS_COLUMNS, 'other busy processes'));
  return parts;
}

function table(rows: unknown, title?: string): string {
  const list = (rows as Row[]) ?? [];
  return renderTable(list, autoColumns(list), title);
}

/** A report for people: its data as tables, then each verdict with the command that fixes it. */
export function renderReport(r: Report): string {
  const parts: string[] = [chalk.bold.underline(r.title)];
  const d = r.data as Record<string, unknown>;
  switch (r.kind) {
    case 'udp-drops':
      parts.push(table(d.counters));
      parts.push(`drop ratio: ${((d.dropRatio as number) * 100).toFixed(3)}%`);
      if ((d.sockets as unknown[]).length) parts.push(table((d.sockets as Row[]).map(({ local, program, pid, dropsDelta, rxQueue, rcvbuf, bufferOrigin, server }) => ({ local, program: server ? `${program as string} (srsx serve)` : program, pid, dropped: dropsDelta, recvQ: rxQueue, rcvbuf, buffer: bufferOrigin })), 'sockets that dropped'));
      if ((d.sendQueueFull as unknown[] | undefined)?.length) parts.push(table((d.sendQueueFull as Row[]).map(({ local, remote, program, pid, txQueue, sndbuf, bufferOrigin }) => ({ local, remote, program, pid, sendQ: txQueue, sndbuf, buffer: bufferOrigin })), 'sockets whose send queue is full'));
      if (d.server) parts.push(serverUdpLine(d.server as ServerUdpView));
      break;
    case 'udp-queue':
      parts.push(table((d.sockets as Row[]).map(({ local, remote, rxQueue, txQueue, rcvbuf, sndbuf, drops, pid, program }) => ({ local, remote, recvQ: rxQueue, rcvbuf, sendQ: txQueue, sndbuf, drops, pid, program }))));
      break;
    case 'cpu':
      parts.push(...renderCpu(d));
      break;
    case 'irq':
      parts.push(table(d.irqs));
      break;
    case 'process':
      parts.push(renderFacts(Object.fromEntries(Object.entries(d).map(([k, v]) => [k, cellText(v)]))));
      break;
    case 'net':
      parts.push(table(d.interfaces));
      break;
    case 'tcp':
      if ((d.connections as unknown[]).length) parts.push(table((d.connections as Row[]).map(({ peer, local, sendQBefore, sendQ, ackedBytes, retrans, stalled }) => ({ player: peer, local, sendQBefore, sendQ, ackedBytes, retrans, stalled }))));
      break;
  }
  for (const v of r.verdicts) {
    parts.push(`${colourVerdict(v.level)}: ${v.reason}${v.fix ? `\n  fix: ${chalk.cyan(v.fix)}` : ''}`);
  }
  return parts.join('\n') + '\n';
}
