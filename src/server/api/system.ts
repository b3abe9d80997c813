/**
 * The rest of SRS's /api/v1 (srs_app_http_api.cpp), `data` objects in SRS's shapes and key
 * order: rusages (getrusage), self_proc_stats (/proc/self/stat), system_proc_stats (/proc/stat),
 * meminfos (/proc/meminfo), features, authors, tests/requests (the request itself), raw
 * (rpc=raw and, with http_api.raw_api, rpc=reload) and clusters. /proc is read through src/host.
 * CPU percentages are over the last 30 s (samples the server takes every 5 s, ProcSampler), as
 * fractions like SRS's.
 */
import os from 'node:os';
import type { IncomingMessage } from 'node:http';
import { parseMeminfo, parseSelfStat, parseSystemCpu, readProcSync, type SystemCpu } from '../../host/proc-api.js';
import { hostRoot } from '../../host/root.js';
import type { ServerConfig } from '../config/types.js';
import { LOCAL_NAMES } from '../cluster/coworkers.js';
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

/** the window of the percentages, as the summaries' CPU */
const PROC_WINDOW_MS = 30_000;

/**
 * /proc samples for the percentages: the server's timer calls tick() every 5 s; a reading compares
 * /proc now with the oldest sample of the last 30 s (else the newest, else the first, taken at
 * construction). Reading changes nothing, so callers never disturb each other.
 */
export class ProcSampler {
  private readonly selfSamples: Array<{ at: number; ticks: number }> = [];
  private readonly sysSamples: Array<{ at: number; cpu: SystemCpu }> = [];

  constructor() {
    this.tick();
  }

  private readSelf(): { at: number; ticks: number; stat: ReturnType<typeof parseSelfStat> } | undefined {
    const text = readProcSync(root, `/proc/${process.pid}/stat`);
    if (!text) return undefined;
    const stat = parseSelfStat(text);
    return { at: nowMs(), ticks: Number(stat.utime) + Number(stat.stime), stat };
  }

  private readSys(): { at: number; cpu: SystemCpu } | undefined {
    const text = readProcSync(root, '/proc/stat');
    return text ? { at: nowMs(), cpu: parseSystemCpu(text) } : undefined;
  }

  /** One sample of /proc/PID/stat and /proc/stat (the server's timer). */
  tick(): void {
    const self = this.readSelf();
    if (self) push(this.selfSamples, { at: self.at, ticks: self.ticks });
    const sys = this.readSys();
    if (sys) push(this.sysSamples, sys);
  }

  /** /proc/self/stat with `percent`: this process's CPU over the last 30 s, as a fraction of one CPU. */
  selfData(): Record<string, unknown> {
    const cur = this.readSelf();
    if (!cur) return { ok: false, sample_time: nowMs(), percent: 0 };
    const from = oldest(this.selfSamples, cur.at);
    // clock ticks are 100 Hz on Linux (USER_HZ)
    const percent = from && cur.at - from.at >= 100 ? Math.max(0, (cur.ticks - from.ticks) / 100 / ((cur.at - from.at) / 1000)) : 0;
    return { ok: true, sample_time: cur.at, percent, ...cur.stat };
  }

  /** /proc/stat's cpu line with `percent`: the busy share of all CPUs over the last 30 s. */
  systemData(): Record<string, unknown> {
    const cur = this.readSys();
    if (!cur) return { ok: false, sample_time: nowMs(), percent: 0 };
    const from = oldest(this.sysSamples, cur.at);
    let percent = 0;
    if (from) {
      const dt = systemTotal(cur.cpu) - systemTotal(from.cpu);
      const didle = cur.cpu.idle - from.cpu.idle;
      percent = dt > 0 ? (dt - didle) / dt : 0;
    }
    return { ok: true, sample_time: cur.at, percent, ...cur.cpu };
  }
}

function push<T extends { at: number }>(list: T[], s: T): void {
  list.push(s);
  while (list.length > 1 && list[0]!.at < s.at - PROC_WINDOW_MS) list.shift();
}

function oldest<T extends { at: number }>(list: T[], now: number): T | undefined {
  return list.find((x) => x.at >= now - PROC_WINDOW_MS) ?? list.at(-1);
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
    const loopback = !listen || LOCAL_NAMES.has(listen.host);
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
