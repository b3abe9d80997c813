/**
 * Directive tree (after old-form rewrites) → typed ServerConfig, reading each setting the way
 * SRS's getter does: env override first (`SRS_<PATH>`), then the file, then SRS's default.
 * Values srsx uses are validated (zod) with the directive's file:line:column in the message;
 * directives srsx does not implement each get exactly one warning naming file:line.
 */
import { z } from 'zod';
import { UserError } from '../../errors.js';
import { arg0, at, atCol, child, type Directive } from './directive.js';
import { type Env } from './env.js';
import { settingFromDirective as fromDir, settingFromEnv as fromEnv, type Setting as Src } from './setting.js';
import { parseEndpoint } from './check.js';
import { ServerConfigSchema } from './schema.js';
import type { ListenAddress, ServerConfig, VhostConfig } from './types.js';
import { buildDvr, buildHls, DVR_IMPLEMENTED, HLS_IMPLEMENTED } from './media.js';
import { buildRtcServer, buildVhostRtc, RTC_SERVER_IMPLEMENTED, VHOST_RTC_IMPLEMENTED } from './rtc.js';
import { buildHttpHooks, HOOKS_IMPLEMENTED } from './hooks.js';
import { buildCluster, CLUSTER_IMPLEMENTED } from './cluster.js';

export class ConfigValueError extends UserError {
  constructor(where: string, detail: string, hint?: string) {
    super(`${where}: ${detail}`, { hint });
    this.name = 'ConfigValueError';
  }
}

/** What srsx implements; everything else SRS allows gets one "not implemented" warning. */
const IMPLEMENTED_ROOT = new Set([
  'listen', 'pid', 'chunk_size', 'srs_log_tank', 'srs_log_level', 'srs_log_level_v2', 'srs_log_file', 'max_connections',
  'daemon', 'http_api', 'http_server', 'exporter', 'vhost', 'is_full', 'rtc_server', 'server_id', 'work_dir',
]);
const IMPLEMENTED_CHILDREN: Record<string, Set<string>> = {
  http_api: new Set(['enabled', 'listen', 'crossdomain', 'auth']),
  'http_api.auth': new Set(['enabled', 'username', 'password']),
  http_server: new Set(['enabled', 'listen', 'dir', 'crossdomain']),
  exporter: new Set(['enabled', 'listen', 'label', 'tag']),
  vhost: new Set(['enabled', 'chunk_size', 'min_latency', 'tcp_nodelay', 'play', 'publish', 'forward', 'http_remux', 'hls', 'dvr', 'rtc', 'http_hooks', 'cluster']),
  rtc_server: RTC_SERVER_IMPLEMENTED,
  'vhost.rtc': VHOST_RTC_IMPLEMENTED,
  'vhost.hls': HLS_IMPLEMENTED,
  'vhost.dvr': DVR_IMPLEMENTED,
  'vhost.http_hooks': HOOKS_IMPLEMENTED,
  'vhost.cluster': CLUSTER_IMPLEMENTED,
  'vhost.play': new Set(['gop_cache', 'queue_length', 'mw_latency', 'mw_msgs', 'time_jitter']),
  'vhost.publish': new Set(['firstpkt_timeout', 'normal_timeout']),
  'vhost.forward': new Set(['enabled', 'destination']),
  'vhost.http_remux': new Set(['enabled', 'mount']),
};

export function unimplementedWarnings(root: Directive[]): string[] {
  const out: string[] = [];
  const walk = (d: Directive, path: string) => {
    const allowed = IMPLEMENTED_CHILDREN[path];
    if (!allowed) return;
    for (const c of d.children) {
      const p = `${path}.${c.name}`;
      if (!allowed.has(c.name)) out.push(`${at(c.pos)}: ${p} is not implemented by srsx (ignored)`);
      else walk(c, p);
    }
  };
  for (const d of root) {
    if (!IMPLEMENTED_ROOT.has(d.name)) out.push(`${at(d.pos)}: ${d.name} is not implemented by srsx (ignored)`);
    else walk(d, d.name);
  }
  return out;
}

const preferTrue = (v: string) => v !== 'off';
const preferFalse = (v: string) => v === 'on';

// SRS reads numbers with atoi/atof: the leading number counts and a unit after it is ignored
// (`mw_latency 350ms;` is 350, `queue_length 10s;` is 10). srsx does the same, with a warning.
const wholeNumber = z.string().regex(/^\d+/, 'expected a whole number').transform((t) => Number(/^\d+/.exec(t)![0]));
const decimal = z.string().regex(/^\d+(\.\d+)?/, 'expected a number').transform((t) => Number(/^\d+(\.\d+)?/.exec(t)![0]));
/** notes from num() for the config being built (buildServerConfig drains them into its warnings) */
let numberNotes: string[] = [];

function num(src: Src | undefined, dflt: number, schema: z.ZodType<number, string>, range?: [number, number]): number {
  if (!src) return dflt;
  const r = schema.safeParse(src.value);
  if (r.success && !/^\d+(\.\d+)?$/.test(src.value)) numberNotes.push(`${src.where}: '${src.value}' is read as ${r.data}, as SRS does (the text after the number is ignored)`);
  if (!r.success) throw new ConfigValueError(src.where, `${r.error.issues[0]?.message ?? 'invalid'}, got '${src.value}'`);
  if (range && (r.data < range[0] || r.data > range[1])) {
    throw new ConfigValueError(src.where, `expected a value in [${range[0]}, ${range[1]}], got '${src.value}'`);
  }
  return r.data;
}

/** play { time_jitter full|zero|off; } (SRS reads any other word as off; srsx names `disabled` too and refuses the rest) */
function timeJitter(src: Src | undefined): 'full' | 'zero' | 'off' {
  if (!src) return 'full';
  if (src.value === 'full' || src.value === 'zero' || src.value === 'off') return src.value;
  if (src.value === 'disabled') return 'off';
  throw new ConfigValueError(src.where, `expected full, zero or off (disabled), got '${src.value}'`, 'full starts each player at 0 and smooths jumps, zero only starts at 0, off passes the publisher\'s timestamps through');
}

function endpoint(src: Src | undefined, dflt: string): ListenAddress {
  const text = src?.value ?? dflt;
  const { host, port } = parseEndpoint(text);
  if (!(port >= 1 && port <= 65535) || !/^\d+$/.test(text.slice(text.lastIndexOf(':') + 1))) {
    throw new ConfigValueError(src?.where ?? 'default', `expected a port, ip:port or [ipv6]:port, got '${text}'`);
  }
  return { host, port };
}

const LOG_LEVELS = ['verbose', 'info', 'trace', 'warn', 'error'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];
/** srs_log_level_v2 names (trace/debug/info/warn/error) in SRS's v1 order. */
const LOG_LEVEL_V2: Record<string, LogLevel> = { trace: 'verbose', debug: 'info', info: 'trace', warn: 'warn', error: 'error' };

export interface BuildOptions {
  env: Env;
  source: string;
}

export function buildServerConfig(root: Directive[], opts: BuildOptions, notes: string[]): ServerConfig {
  const { env } = opts;
  const top: Directive = { name: '', args: [], children: root, block: true, pos: { file: opts.source, line: 1, column: 1 } };
  const warnings = [...notes, ...unimplementedWarnings(root)];
  numberNotes = [];

  // listen (SRS_LISTEN is a space-separated list)
  const listenEnv = fromEnv(env, ['srs.listen']);
  const listenDir = child(top, 'listen');
  const listenTexts = listenEnv ? listenEnv.value.split(' ').filter(Boolean) : (listenDir?.args ?? []);
  const listenWhere = listenEnv?.where ?? (listenDir ? `${atCol(listenDir.pos)}: listen` : opts.source);
  if (listenTexts.length === 0) throw new ConfigValueError(listenWhere, 'listen requires params', 'add e.g. "listen 1935;"');
  const listen = listenTexts.map((t) => endpoint({ value: t, where: listenWhere }, '1935'));

  const maxConnections = num(fromEnv(env, ['srs.max_connections']) ?? fromDir(child(top, 'max_connections')), 1000, wholeNumber, [1, 1_000_000]);
  const chunkSrc = fromEnv(env, ['srs.vhost.chunk_size']) ?? fromDir(child(top, 'chunk_size'));
  const chunkSize = num(chunkSrc, 60000, wholeNumber);
  if (chunkSize < 128 || chunkSize > 65536) warnings.push(`${chunkSrc?.where ?? ''}: chunk_size=${chunkSize} should be in [128, 65536]`);
  const pidFile = (fromEnv(env, ['srs.pid']) ?? fromDir(child(top, 'pid')))?.value ?? './objs/srs.pid';

  const tankSrc = fromEnv(env, ['srs.srs_log_tank', 'srs.log_tank']) ?? fromDir(child(top, 'srs_log_tank'));
  const tank: 'console' | 'file' = tankSrc ? (tankSrc.value === 'console' ? 'console' : 'file') : 'file';
  let level: LogLevel = 'trace';
  const v2 = fromEnv(env, ['srs.srs_log_level_v2', 'srs.log_level_v2']) ?? fromDir(child(top, 'srs_log_level_v2'));
  const v1 = fromEnv(env, ['srs.srs_log_level', 'srs.log_level']) ?? fromDir(child(top, 'srs_log_level'));
  if (v2) {
    const l = LOG_LEVEL_V2[v2.value];
    if (!l) throw new ConfigValueError(v2.where, `expected one of ${Object.keys(LOG_LEVEL_V2).join('|')}, got '${v2.value}'`);
    level = l;
  } else if (v1) {
    // SRS takes any value here (an unknown one disables its log); srsx reads v2's names too
    // (`srs_log_level debug;` is info) and keeps trace for anything else, with a warning
    if ((LOG_LEVELS as readonly string[]).includes(v1.value)) level = v1.value as LogLevel;
    else if (LOG_LEVEL_V2[v1.value]) level = LOG_LEVEL_V2[v1.value]!;
    else warnings.push(`${v1.where}: '${v1.value}' is not one of ${LOG_LEVELS.join('|')}: logging at trace`);
  }
  const logFile = (fromEnv(env, ['srs.srs_log_file', 'srs.log_file']) ?? fromDir(child(top, 'srs_log_file')))?.value ?? './objs/srs.log';

  const daemonSrc = fromEnv(env, ['srs.daemon']) ?? fromDir(child(top, 'daemon'));
  const daemon = daemonSrc ? preferTrue(daemonSrc.value) : true;

  const flag = (key: string, d: Directive | undefined, prefer: (v: string) => boolean, dflt: boolean) => {
    const s = fromEnv(env, [key]) ?? fromDir(d);
    return s ? prefer(s.value) : dflt;
  };
  const str = (key: string, d: Directive | undefined, dflt: string) => (fromEnv(env, [key]) ?? fromDir(d))?.value ?? dflt;

  const api = child(top, 'http_api');
  const httpApi = {
    enabled: flag('srs.http_api.enabled', child(api, 'enabled'), preferFalse, false),
    listen: endpoint(fromEnv(env, ['srs.http_api.listen']) ?? fromDir(child(api, 'listen')), '1985'),
    crossdomain: flag('srs.http_api.crossdomain', child(api, 'crossdomain'), preferTrue, true),
    auth: {
      enabled: flag('srs.http_api.auth.enabled', child(child(api, 'auth'), 'enabled'), preferFalse, false),
      username: str('srs.http_api.auth.username', child(child(api, 'auth'), 'username'), ''),
      password: str('srs.http_api.auth.password', child(child(api, 'auth'), 'password'), ''),
    },
  };
  const hs = child(top, 'http_server');
  const httpServer = {
    enabled: flag('srs.http_server.enabled', child(hs, 'enabled'), preferFalse, false),
    listen: endpoint(fromEnv(env, ['srs.http_server.listen']) ?? fromDir(child(hs, 'listen')), '8080'),
    dir: str('srs.http_server.dir', child(hs, 'dir'), './objs/nginx/html'),
    crossdomain: flag('srs.http_server.crossdomain', child(hs, 'crossdomain'), preferTrue, true),
  };
  const ex = child(top, 'exporter');
  const exporter = {
    enabled: flag('srs.exporter.enabled', child(ex, 'enabled'), preferFalse, false),
    listen: endpoint(fromEnv(env, ['srs.exporter.listen']) ?? fromDir(child(ex, 'listen')), '9972'),
    label: str('srs.exporter.label', child(ex, 'label'), ''),
    tag: str('srs.exporter.tag', child(ex, 'tag'), ''),
  };

  const vhosts: VhostConfig[] = [];
  const seen = new Set<string>();
  for (const v of root) {
    if (v.name !== 'vhost') continue;
    const name = arg0(v);
    if (!name) throw new ConfigValueError(`${atCol(v.pos)}: vhost`, 'expected a vhost name', 'write: vhost __defaultVhost__ { ... }');
    if (seen.has(name)) {
      warnings.push(`${at(v.pos)}: vhost ${name} is defined again; the first one is used (as in SRS)`);
      continue;
    }
    seen.add(name);
    vhosts.push(buildVhost(v, env, chunkSrc ? chunkSize : undefined));
  }
  if (vhosts.length === 0) {
    warnings.push(`${opts.source}: no vhost is configured, every client will be refused; add: vhost __defaultVhost__ {}`);
  }

  const cfg: ServerConfig = {
    source: opts.source,
    listen,
    maxConnections,
    chunkSize,
    pidFile,
    log: { tank, level, file: logFile },
    daemon,
    daemonSet: daemonSrc !== undefined,
    httpApi,
    httpServer,
    exporter,
    rtcServer: buildRtcServer(root, env),
    vhosts,
    serverId: (fromEnv(env, ['srs.server_id']) ?? fromDir(child(top, 'server_id')))?.value,
    workDir: (fromEnv(env, ['srs.work_dir']) ?? fromDir(child(top, 'work_dir')))?.value,
    warnings: [...warnings, ...numberNotes],
  };
  numberNotes = [];
  const r = ServerConfigSchema.safeParse(cfg);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigValueError(opts.source, `invalid ${issue.path.join('.')}: ${issue.message}`);
  }
  return r.data;
}

function buildVhost(v: Directive, env: Env, globalChunk: number | undefined): VhostConfig {
  const src = (key: string, d: Directive | undefined) => fromEnv(env, [key]) ?? fromDir(d);
  const flag = (key: string, d: Directive | undefined, prefer: (v: string) => boolean, dflt: boolean) => {
    const s = src(key, d);
    return s ? prefer(s.value) : dflt;
  };
  const play = child(v, 'play');
  const minLatency = flag('srs.vhost.min_latency', child(v, 'min_latency'), preferFalse, false);
  let mwMsgs = num(src('srs.vhost.play.mw_msgs', child(play, 'mw_msgs')), minLatency ? 0 : 8, wholeNumber);
  if (mwMsgs > 128) mwMsgs = 128; // SRS resets to SRS_PERF_MW_MSGS with a warning
  const fwd = child(v, 'forward');
  const remux = child(v, 'http_remux');
  const vchunk = src('srs.vhost.chunk_size', child(v, 'chunk_size'));
  return {
    name: arg0(v),
    enabled: child(v, 'enabled') ? preferTrue(arg0(child(v, 'enabled'))) : true,
    minLatency,
    tcpNodelay: flag('srs.vhost.tcp_nodelay', child(v, 'tcp_nodelay'), preferFalse, false),
    play: {
      gopCache: flag('srs.vhost.play.gop_cache', child(play, 'gop_cache'), preferTrue, true),
      queueLength: num(src('srs.vhost.play.queue_length', child(play, 'queue_length')), 30, decimal),
      mwLatencyMs: num(src('srs.vhost.play.mw_latency', child(play, 'mw_latency')), 350, wholeNumber),
      mwMsgs,
      timeJitter: timeJitter(src('srs.vhost.play.time_jitter', child(play, 'time_jitter'))),
    },
    publish: {
      firstPktTimeoutMs: num(src('srs.vhost.publish.firstpkt_timeout', child(child(v, 'publish'), 'firstpkt_timeout')), 20_000, wholeNumber),
      normalTimeoutMs: num(src('srs.vhost.publish.normal_timeout', child(child(v, 'publish'), 'normal_timeout')), 5_000, wholeNumber),
    },
    forward: {
      enabled: preferFalse(arg0(child(fwd, 'enabled'))),
      destinations: child(fwd, 'destination')?.args ?? [],
    },
    httpRemux: {
      enabled: flag('srs.vhost.http_remux.enabled', child(remux, 'enabled'), preferFalse, false),
      mount: src('srs.vhost.http_remux.mount', child(remux, 'mount'))?.value ?? '[vhost]/[app]/[stream].flv',
    },
    chunkSize: vchunk ? num(vchunk, 60000, wholeNumber) : globalChunk,
    hls: buildHls(v, env),
    dvr: buildDvr(v, env),
    rtc: buildVhostRtc(v, env),
    httpHooks: buildHttpHooks(v, env),
    cluster: buildCluster(v, env),
  };
}
