/**
 * The rest of SRS's /api/v1 (srs_app_http_api.cpp), `data` objects in SRS's shapes and key
 * order: rusages (getrusage), self_proc_stats (/proc/self/stat), system_proc_stats (/proc/stat),
 * meminfos (/proc/meminfo), features, authors, tests/requests (the request itself), raw
 * (rpc=raw and, with http_api.raw_api, rpc=reload) and clusters. /proc is read through src/host.
 * CPU percentages are over the interval since the previous call (at least 1 s; SRS samples
 * every few seconds), as fractions like SRS's.
 */
import os from 'node:os';
import type { IncomingMessage } from 'node:http';
import { parseMeminfo, parseSelfStat, parseSystemCpu, readProcSync, type SystemCpu } from '../../host/proc-api.js';
import { hostRoot } from '../../host/root.js';
import type { ServerConfig } from '../config/types.js';
import { VERSION } from '../../version.js';
import type { StreamStats } from './stats-source.js';

const root = hostRoot();
const nowMs = () => Date.now();

/** getrusage(RUSAGE_SELF) as SRS reports it (times in whole seconds, maxrss in kB). */
export function rusageData(): Record<string, unknown> {
  const r = process.resourceUsage();
  return {
    ok: true,
    sample_time: nowMs(),
    ru_utime: Math.floor(r.userCPUTime / 1e6),
    ru_stime: Math.floor(r.systemCPUTime / 1e6),
    ru_maxrss: r.maxRSS,
    ru_ixrss: r.sharedMemorySize,
    ru_idrss: r.unsharedDataSize,
    ru_isrss: r.unsharedStackSize,
    ru_minflt: r.minorPageFault,
    ru_majflt: r.majorPageFault,
    ru_nswap: r.swappedOut,
    ru_inblock: r.fsRead,
    ru_oublock: r.fsWrite,
    ru_msgsnd: r.ipcSent,
    ru_msgrcv: r.ipcReceived,
    ru_nsignals: r.signalsCount,
    ru_nvcsw: r.voluntaryContextSwitches,
    ru_nivcsw: r.involuntaryContextSwitches,
  };
}

const systemTotal = (c: SystemCpu) => c.user + c.nice + c.sys + c.idle + c.iowait + c.irq + c.softirq + c.steal;

/** Keeps the previous /proc samples for the percentages. */
export class ProcSampler {
  private self: { at: number; ticks: number; percent: number } | undefined;
  private sys: { at: number; cpu: SystemCpu; percent: number } | undefined;

  /** /proc/self/stat with `percent`: this process's CPU over the interval, as a fraction of one CPU. */
  selfData(): Record<string, unknown> {
    const text = readProcSync(root, `/proc/${process.pid}/stat`);
    if (!text) return { ok: false, sample_time: nowMs(), percent: 0 };
    const s = parseSelfStat(text);
    const at = nowMs();
    const ticks = Number(s.utime) + Number(s.stime);
    let percent = this.self?.percent ?? 0;
    if (!this.self) this.self = { at, ticks, percent: 0 };
    else if (at - this.self.at >= 1000) {
      // clock ticks are 100 Hz on Linux (USER_HZ)
      percent = (ticks - this.self.ticks) / 100 / ((at - this.self.at) / 1000);
      this.self = { at, ticks, percent };
    }
    return { ok: true, sample_time: at, percent, ...s };
  }

  /** /proc/stat's cpu line with `percent`: the busy share of all CPUs over the interval. */
  systemData(): Record<string, unknown> {
    const text = readProcSync(root, '/proc/stat');
    if (!text) return { ok: false, sample_time: nowMs(), percent: 0 };
    const cpu = parseSystemCpu(text);
    const at = nowMs();
    let percent = this.sys?.percent ?? 0;
    if (!this.sys) this.sys = { at, cpu, percent: 0 };
    else if (at - this.sys.at >= 1000) {
      const dt = systemTotal(cpu) - systemTotal(this.sys.cpu);
      const didle = cpu.idle - this.sys.cpu.idle;
      percent = dt > 0 ? (dt - didle) / dt : 0;
      this.sys = { at, cpu, percent };
    }
    return { ok: true, sample_time: at, percent, ...cpu };
  }
}

export function meminfoData(): Record<string, unknown> {
  const text = readProcSync(root, '/proc/meminfo');
  if (!text) return { ok: false, sample_time: nowMs() };
  const m = parseMeminfo(text);
  return {
    ok: true, sample_time: nowMs(), percent_ram: m.percent_ram, percent_swap: m.percent_swap, MemActive: m.MemActive,
    RealInUse: m.RealInUse, NotInUse: m.NotInUse, MemTotal: m.MemTotal, MemFree: m.MemFree, Buffers: m.Buffers, Cached: m.Cached,
    SwapTotal: m.SwapTotal, SwapFree: m.SwapFree,
  };
}

/** SRS's feature flags, answered for what srsx does (hls/dvr/callback/api/httpd/stat yes; transcode/ingest/caster/hds no). */
export function featuresData(): Record<string, unknown> {
  return {
    options: 'srsx',
    options2: `srsx ${VERSION} node ${process.version}`,
    build: '',
    build2: '',
    features: {
      ssl: true, hls: true, hds: false, callback: true, api: true, httpd: true, dvr: true, transcode: false, ingest: false,
      stat: true, caster: false, complex_send: false, tcp_nodelay: true, so_sendbuf: false, mr: false,
    },
  };
}

export function authorsData(): Record<string, unknown> {
  return { license: 'MIT', contributors: 'srsx (an SRS-compatible server in TypeScript; SRS is by the SRS authors, https://github.com/ossrs/srs)' };
}

/** /api/v1/tests/requests: the request itself (SRS overwrites `headers` with its server info: kept as SRS answers). */
export function requestsData(req: IncomingMessage, url: URL): Record<string, unknown> {
  return {
    uri: req.url ?? '/',
    path: url.pathname,
    METHOD: req.method ?? 'GET',
    headers: { sigature: 'srsx', version: VERSION, link: 'https://github.com/ossrs/srs', time: nowMs() },
  };
}

/** SRS's error codes of the raw API. */
export const RAW_CODES = { raw: 1060, disabled: 1061 } as const;

/**
 * /api/v1/raw: rpc=raw answers the http_api config as SRS's raw_to_json; the rest needs
 * http_api.raw_api (srsx does not implement it: always disabled, as SRS's default), so
 * rpc=reload and others answer {"code":1061}.
 */
export function rawAnswer(config: ServerConfig, rpc: string | null): { code: number; body?: Record<string, unknown> } {
  if (rpc === 'raw') {
    const a = config.httpApi;
    return {
      code: 0,
      body: {
        http_api: {
          enabled: a.enabled,
          listen: a.listen.host === '0.0.0.0' ? String(a.listen.port) : `${a.listen.host}:${a.listen.port}`,
          crossdomain: a.crossdomain,
          raw_api: { enabled: false, allow_reload: false, allow_query: false, allow_update: false },
        },
      },
    };
  }
  return { code: RAW_CODES.disabled };
}

/** /api/v1/clusters (origin cluster coworkers): where a stream is, or origin null when it is not here. */
export function clustersData(config: ServerConfig, url: URL, streams: StreamStats[]): Record<string, unknown> {
  const q = (k: string) => url.searchParams.get(k) ?? '';
  const [ip, vhost, app, stream, coworker] = ['ip', 'vhost', 'app', 'stream', 'coworker'].map(q) as [string, string, string, string, string];
  const found = streams.find((s) => s.app === app && s.name === stream && (s.vhost === vhost || vhost === '' || s.vhost === '__defaultVhost__') && s.publisherId !== undefined);
  let origin: Record<string, unknown> | null = null;
  if (found) {
    const listen = config.listen[0];
    const loopback = !listen || ['0.0.0.0', '127.0.0.1', 'localhost', '::1', '::'].includes(listen.host);
    const serviceIp = !loopback ? listen!.host : coworker.split(':')[0] || firstAddress();
    const api = `${serviceIp}:${config.httpApi.listen.port}`;
    origin = { ip: serviceIp, port: listen?.port ?? 1935, vhost: found.vhost, api, routers: [api] };
  }
  return { query: { ip, vhost, app, stream }, origin };
}

function firstAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && a.family === 'IPv4') return a.address;
  }
  return '127.0.0.1';
}
