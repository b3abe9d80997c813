/**
 * /api/v1/summaries data (SRS's srs_api_dump_summaries), from Node's os/process views of the
 * host (no direct /proc reads here). Ratios are fractions as in SRS (0.05 = 5%); CPU percentages
 * are over the last 30 s (SummarySampler), load averages the kernel's. Fields SRS reads
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

/** the CPU window of the summaries and srs_cpu_percent (as the kbps windows) */
export const CPU_WINDOW_MS = 30_000;

/**
 * CPU use over a sliding window: the server's timer calls tick() (every 5 s) to record CPU times;
 * a reading compares the times now with the oldest sample inside the last 30 s (else the newest,
 * else the one taken at construction, the server's start). Reading changes nothing, so API calls
 * and scrapes, however many and however often, never disturb each other.
 */
export class SummarySampler {
  private readonly samples: Sample[] = [];

  constructor(private readonly now: () => number = Date.now) {
    this.samples.push(this.take());
  }

  private take(): Sample {
    const t = cpuTimes();
    return { at: this.now(), selfCpuUs: selfCpuUs(), sysBusy: t.busy, sysTotal: t.total };
  }

  /** Records one sample (the server's timer); keeps the last 30 s of them. */
  tick(): void {
    const s = this.take();
    this.samples.push(s);
    while (this.samples.length > 1 && this.samples[0]!.at < s.at - CPU_WINDOW_MS) this.samples.shift();
  }

  /** process and system CPU (fractions) from the window's oldest sample to now */
  private percents(): { self: number; sys: number } {
    const cur = this.take();
    const from = this.samples.find((x) => x.at >= cur.at - CPU_WINDOW_MS) ?? this.samples.at(-1)!;
    const wallUs = (cur.at - from.at) * 1000;
    if (wallUs < 100_000) return { self: 0, sys: 0 }; // under 100 ms: no meaningful figure
    const dTotal = cur.sysTotal - from.sysTotal;
    return {
      self: Math.max(0, (cur.selfCpuUs - from.selfCpuUs) / wallUs),
      sys: dTotal > 0 ? Math.max(0, (cur.sysBusy - from.sysBusy) / dTotal) : 0,
    };
  }

  /** The process CPU use as a fraction of one core over the last 30 s. */
  selfCpu(): number {
    return this.percents().self;
  }

  data(summary: ServerSummary, extra: { argv: string; cwd: string }): Record<string, unknown> {
    const cpu = this.percents();
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
        cpu_percent: fixed2(cpu.self),
        srs_uptime: Math.floor((now - summary.startedAt) / 1000),
      },
      system: {
        cpu_percent: fixed2(cpu.sys),
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
              replayed: summary.udp.replayed ?? 0,
              rcvbuf: { asked: summary.udp.recvBufferAsked, granted: summary.udp.recvBufferGranted },
              sndbuf: { asked: summary.udp.sendBufferAsked, granted: summary.udp.sendBufferGranted },
            },
          }
        : {}),
    };
  }
}
