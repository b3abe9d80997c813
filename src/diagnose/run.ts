import si from 'systeminformation';
import { readProcess } from '../host/proc-process.js';
import type { HostRoot } from '../host/root.js';
import { ticksPerSecond } from '../host/proc-sampler.js';
import { describeVm, detectVirtualisation } from '../host/virt.js';
import { cpuReport, irqReport, sampleCpu, sampleIrqs, serverPidfile } from './cpu.js';
import { netReport, sampleNet } from './net.js';
import { processReport, resolveServerPid } from './process.js';
import { FullReportSchema, type Report } from './report.js';
import { findServerUdp } from './server-udp.js';
import { sampleUdp, udpDropsReport, udpQueueReport } from './udp.js';
import { sampleTcp, tcpReport } from './tcp.js';

export type What = 'udp-drops' | 'udp-queue' | 'cpu' | 'irq' | 'process' | 'net' | 'tcp';
export const ALL: What[] = ['udp-drops', 'udp-queue', 'cpu', 'irq', 'process', 'net', 'tcp'];

export interface RunOptions {
  intervalMs: number;
  pid?: string;
  name?: string;
  pidfile?: string;
  /** the process listening on this TCP port is the server */
  port?: string;
  /** the server's config: its pid file, RTMP port (and, for udp-drops, its API) */
  config?: string;
  iface?: string;
  onWait?: (ms: number) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the reports asked for; everything that needs two samples shares one interval. */
export async function runReports(root: HostRoot, what: readonly What[], opts: RunOptions): Promise<Report[]> {
  const wants = (w: What) => what.includes(w);
  const needPid = wants('process');
  const pid = needPid || wants('cpu') || wants('tcp') ? await resolveServerPid(root, opts, needPid && what.length === 1) : undefined;
  // the irq fix names the server too, but irq alone does not go looking for it (that may be ambiguous)
  const refPid = pid ?? (opts.pid !== undefined && /^\d+$/.test(opts.pid) ? Number(opts.pid) : undefined);
  const ref = { pid: refPid, pidfile: await serverPidfile(root, refPid, opts.pidfile) };
  const hz = await ticksPerSecond();
  // udp-drops reads the server's own UDP counters from its API beside the kernel's (never fails: a note when no server)
  const udpServer = wants('udp-drops') ? await findServerUdp(root, opts, pid) : undefined;
  // both samples of every report at once (in parallel), so they share one interval
  const take = async () => {
    const [udp, cpu, irq, tcp, net, proc] = await Promise.all([
      wants('udp-drops') ? sampleUdp(root, udpServer) : undefined,
      wants('cpu') ? sampleCpu(root, pid) : undefined,
      wants('irq') ? sampleIrqs(root) : undefined,
      wants('tcp') ? sampleTcp(root, pid) : undefined,
      wants('net') ? sampleNet(root) : undefined,
      needPid && pid !== undefined ? readProcess(root, pid) : undefined,
    ]);
    return { udp, cpu, irq, tcp, net, proc };
  };
  const first = await take();
  const sampled = Object.values(first).some((x) => x !== undefined);
  if (sampled) {
    opts.onWait?.(opts.intervalMs);
    await sleep(opts.intervalMs);
  }
  const second = sampled ? await take() : first;
  const reports: Report[] = [];
  for (const w of what) {
    switch (w) {
      case 'udp-drops':
        reports.push(await udpDropsReport(root, first.udp!, second.udp!));
        break;
      case 'udp-queue':
        reports.push(await udpQueueReport(root));
        break;
      case 'cpu':
        reports.push(cpuReport(first.cpu!, second.cpu!, hz, ref));
        break;
      case 'irq':
        reports.push(await irqReport(root, first.irq!, second.irq!, ref));
        break;
      case 'process':
        if (first.proc) reports.push(await processReport(first.proc, second.proc!, hz));
        else reports.push({ kind: 'process', title: 'server process', data: { pid: null }, verdicts: [{ level: 'ok', reason: 'no server process found (the pid file, the RTMP port and srsx serve/srs command lines were tried): give --pid, --port, --pidfile or -c' }] });
        break;
      case 'tcp':
        reports.push(tcpReport(first.tcp!, second.tcp!, pid, ref));
        break;
      case 'net':
        reports.push(netReport(first.net!, second.net!, opts.iface));
        break;
    }
  }
  return reports;
}

export async function hostFacts(root: HostRoot) {
  const [cpu, mem, os, virt] = await Promise.all([si.cpu(), si.mem(), si.osInfo(), detectVirtualisation(root)]);
  return {
    cpu: `${cpu.manufacturer} ${cpu.brand}`.trim(),
    cores: cpu.cores,
    memoryGiB: Math.round((mem.total / 1024 ** 3) * 10) / 10,
    kernel: os.kernel,
    os: `${os.distro} ${os.release}`.trim(),
    virtualisation: describeVm(virt),
    container: virt.container,
    virtualisationSource: virt.source,
  };
}

/** The whole report with host facts and a verdict summary, validated against the schema. */
export async function fullReport(root: HostRoot, opts: RunOptions) {
  const [host, reports] = await Promise.all([hostFacts(root), runReports(root, ALL, opts)]);
  const all = reports.flatMap((r) => r.verdicts);
  return FullReportSchema.parse({
    host,
    reports,
    summary: { ok: all.filter((v) => v.level === 'ok').length, warn: all.filter((v) => v.level === 'warn').length, critical: all.filter((v) => v.level === 'critical').length },
  });
}
