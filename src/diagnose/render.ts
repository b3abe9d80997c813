import chalk from 'chalk';
import { colourVerdict, renderFacts, renderTable, type Column } from '../report/render.js';
import type { Report } from './report.js';
import { serverUdpLine, type ServerUdpView } from './server-udp.js';

type Row = Record<string, unknown>;

function autoColumns(rows: Row[]): Column<Row>[] {
  const keys = rows.length ? Object.keys(rows[0]!) : [];
  return keys.map((k) => ({
    header: k,
    value: (r: Row) => {
      const v = r[k];
      return Array.isArray(v) ? v.join(' ') : v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : (v as string | number | boolean);
    },
    align: typeof rows[0]![k] === 'number' ? ('right' as const) : ('left' as const),
  }));
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
      parts.push(table(d.cpus));
      if (d.server) {
        const sv = d.server as { pid: number; cpusAllowed: number[]; runMs: number; waitMs: number; threads: Row[] };
        parts.push(`server pid ${sv.pid} on CPUs ${sv.cpusAllowed.join(',')}: ran ${sv.runMs} ms, waited ${sv.waitMs} ms for a CPU`);
        parts.push(table(sv.threads.filter((t) => (t.percent as number) > 0), 'server threads using CPU'));
      }
      if ((d.busyProcesses as unknown[] | undefined)?.length) parts.push(table(d.busyProcesses, 'other busy processes'));
      break;
    case 'irq':
      parts.push(table(d.irqs));
      break;
    case 'process':
      parts.push(renderFacts(d as Record<string, string | number>));
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
