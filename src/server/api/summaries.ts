/**
 * /api/v1/summaries data (SRS's srs_api_dump_summaries), from Node's os/process views of the
 * host (no direct /proc reads here). Ratios are fractions as in SRS (0.05 = 5%). Fields SRS reads
 * from /proc/diskstats, /proc/net/* and swap are reported as 0.
 */
import os from 'node:os';
import type { ServerSummary } from './stats-source.js';
import { VERSION } from '../../version.js';
import { fixed2 } from './shapes.js';

interface Sample {
  at: number;
  selfCpuUs: number;
  sysBusy: number;
  sysTotal: number;
}

function cpuTimes(): { busy: number; total: number; idle: number } {
  let busy = 0;
  let total = 0;
  let idle = 0;
  for (const c of os.cpus()) {
    const t = c.times;
    const all = t.user + t.nice + t.sys + t.irq + t.idle;
    total += all;
    busy += all - t.idle;
    idle += t.idle;
  }
  return { busy, total, idle };
}

function selfCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** Keeps the previous sample so CPU percentages are over the interval between calls (SRS samples every few s). */
export class SummarySampler {
  private last: Sample;
  private selfPercent = 0;
  private sysPercent = 0;

  constructor(private readonly now: () => number = Date.now) {
    const t = cpuTimes();
    this.last = { at: now(), selfCpuUs: selfCpuUs(), sysBusy: t.busy, sysTotal: t.total };
  }

  private sample(): void {
    const at = this.now();
    if (at - this.last.at < 1000) return; // keep the previous values for bursts of calls
    const t = cpuTimes();
    const self = selfCpuUs();
    const wallUs = (at - this.last.at) * 1000;
    this.selfPercent = wallUs > 0 ? (self - this.last.selfCpuUs) / wallUs : 0;
    const dTotal = t.total - this.last.sysTotal;
    this.sysPercent = dTotal > 0 ? (t.busy - this.last.sysBusy) / dTotal : 0;
    this.last = { at, selfCpuUs: self, sysBusy: t.busy, sysTotal: t.total };
  }

  /** The process CPU use as a fraction of one core since the previous sample. */
  selfCpu(): number {
    this.sample();
    return this.selfPercent;
  }

  data(summary: ServerSummary, extra: { argv: string; cwd: string }): Record<string, unknown> {
    this.sample();
    const now = this.now();
    const rssKb = Math.round(process.memoryUsage.rss() / 1024);
    const totalKb = Math.round(os.totalmem() / 1024);
    const freeKb = Math.round(os.freemem() / 1024);
    const cpus = os.cpus().length;
    const [l1, l5, l15] = os.loadavg();
    return {
      ok: true,
      now_ms: now,
      self: {
        version: VERSION,
        pid: summary.pid,
        ppid: process.ppid,
        argv: extra.argv,
        cwd: extra.cwd,
        mem_kbyte: rssKb,
        mem_percent: fixed2(totalKb > 0 ? rssKb / totalKb : 0),
        cpu_percent: fixed2(this.selfPercent),
        srs_uptime: Math.floor((now - summary.startedAt) / 1000),
      },
      system: {
        cpu_percent: fixed2(this.sysPercent),
        disk_read_KBps: 0,
        disk_write_KBps: 0,
        disk_busy_percent: 0,
        mem_ram_kbyte: totalKb,
        mem_ram_percent: fixed2(totalKb > 0 ? (totalKb - freeKb) / totalKb : 0),
        mem_swap_kbyte: 0,
        mem_swap_percent: 0,
        cpus,
        cpus_online: cpus,
        uptime: fixed2(os.uptime()),
        ilde_time: fixed2(cpuTimes().idle / 1000),
        load_1m: fixed2(l1 ?? 0),
        load_5m: fixed2(l5 ?? 0),
        load_15m: fixed2(l15 ?? 0),
        net_sample_time: 0,
        net_recv_bytes: 0,
        net_send_bytes: 0,
        net_recvi_bytes: 0,
        net_sendi_bytes: 0,
        srs_sample_time: now,
        srs_recv_bytes: summary.recvBytes,
        srs_send_bytes: summary.sendBytes,
        conn_sys: 0,
        conn_sys_et: 0,
        conn_sys_tw: 0,
        conn_sys_udp: 0,
        conn_srs: summary.connections,
      },
      // srsx: the WebRTC UDP port (rtc_server): loss r = kernel drops on its socket, s = failed sends
      ...(summary.udp
        ? {
            rtc_udp: {
              port: summary.udp.port,
              loss: { r: summary.udp.recvDrops, s: summary.udp.sendErrors },
              bad: summary.udp.bad,
              rcvbuf: { asked: summary.udp.recvBufferAsked, granted: summary.udp.recvBufferGranted },
              sndbuf: { asked: summary.udp.sendBufferAsked, granted: summary.udp.sendBufferGranted },
            },
          }
        : {}),
    };
  }
}
