/**
 * SRS's HTTP API (srs_app_http_api.cpp) on a node:http request: `/`, `/api/`, `/api/v1/`,
 * `/api/v1/versions`, `/summaries`, `/vhosts[/id]`, `/streams[/id]`, `/clients[/id]` (GET; DELETE
 * kicks a client), `/metrics` (the exporter). JSONP via `?callback=` (and `?method=` as SRS), CORS
 * per http_api.crossdomain. Query parameters are validated with zod.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ServerConfig } from '../config/types.js';
import { VERSION } from '../../version.js';
import type { MetricsExporter } from './metrics.js';
import { applyCors, ErrorCode, httpError, sendCode, sendJson } from './respond.js';
import { clientJson, envelope, streamJson, vhostJson, vhostId } from './shapes.js';
import type { ServerSummary, StatsSource } from './stats-source.js';
import { SummarySampler } from './summaries.js';
import type { ValgrindApi } from './valgrind.js';
import { badTarget, tryDecode } from '../http/url.js';
import { authorsData, clustersData, featuresData, meminfoData, ProcSampler, rawAnswer, requestsData, rusageData } from './system.js';

/** The `Server` header of every API answer (SRS sends `SRS/<version>`; srsx says what it is). */
export const SERVER_HEADER = `srsx/${VERSION}`;

export interface ApiContext {
  stats: StatsSource;
  config: ServerConfig;
  /** the Prometheus exporter; /metrics answers {"code":1090} without it or when disabled */
  metrics?: MetricsExporter;
  /** answer `/` with the API root (SRS does when http_server does not share the port); default true */
  serveRoot?: boolean;
  /** CORS on/off; default config.httpApi.crossdomain */
  crossdomain?: boolean;
  /** for /api/v1/summaries self.argv / self.cwd; default process.argv / process.cwd() */
  argv?: string;
  cwd?: string;
  now?: () => number;
  /** /api/v1/valgrind (the leak check through the native addon); 404 without it */
  valgrind?: ValgrindApi;
  /** the server's CPU sampler (ticked by its timer); default one per StatsSource, made at the first call */
  sampler?: SummarySampler;
  /** the server's /proc sampler (ticked by its timer) for self_proc_stats / system_proc_stats */
  procSampler?: ProcSampler;
}

const QuerySchema = z.object({
  callback: z
    .string()
    .regex(/^[A-Za-z0-9_.-]*$/, 'a JSONP callback may only use [A-Za-z0-9_.-]')
    .optional(),
  method: z.string().optional(),
  start: z.string().optional(),
  count: z.string().optional(),
  check: z.string().optional(),
});

/**
 * http_api.auth (SRS's SrsHttpAuthMux): when enabled, a path containing `/api/` needs
 * `Authorization: Basic base64(username:password)` matching the config. Otherwise 401 with an
 * empty body; a missing header or wrong credentials also get `WWW-Authenticate` (a header that
 * is not Basic, or does not decode to user:password, gets the bare 401, as in SRS).
 */
export function authorized(req: IncomingMessage, res: ServerResponse, auth: ServerConfig['httpApi']['auth'] | undefined, pathname: string): boolean {
  if (!auth?.enabled || !pathname.includes('/api/')) return true;
  const deny = (challenge: boolean) => {
    const headers: Record<string, string | number> = { 'Content-Length': 0 };
    if (challenge) headers['WWW-Authenticate'] = 'Basic realm="SRS"';
    res.writeHead(401, headers);
    res.end();
    return false;
  };
  const header = req.headers.authorization;
  if (!header) return deny(true);
  const at = header.indexOf('Basic ');
  if (at < 0) return deny(false);
  const token = header.slice(at + 'Basic '.length).trim();
  if (!token) return deny(false);
  const plain = Buffer.from(token, 'base64').toString('utf8');
  const colon = plain.indexOf(':');
  if (colon < 0) return deny(false);
  const same = (a: string, b: string) => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  // both compared, always (no early exit on the user name)
  const userOk = same(plain.slice(0, colon), auth.username);
  const passOk = same(plain.slice(colon + 1), auth.password);
  return userOk && passOk ? true : deny(true);
}

/** C's atoi, as SRS reads start/count. */
function atoi(s: string | undefined): number {
  const m = /^\s*([+-]?\d+)/.exec(s ?? '');
  return m ? Number.parseInt(m[1]!, 10) : 0;
}

const samplers = new WeakMap<StatsSource, SummarySampler>();
function samplerFor(ctx: ApiContext): SummarySampler {
  if (ctx.sampler) return ctx.sampler;
  let s = samplers.get(ctx.stats);
  if (!s) {
    s = new SummarySampler(ctx.now);
    samplers.set(ctx.stats, s);
  }
  return s;
}

const V1_URLS = {
  versions: 'the version of SRS',
  summaries: 'the summary(pid, argv, pwd, cpu, mem) of SRS',
  rusages: 'the rusage of SRS',
  self_proc_stats: 'the self process stats',
  system_proc_stats: 'the system process stats',
  meminfos: 'the meminfo of system',
  authors: 'the license, copyright, authors and contributors',
  features: 'the supported features of SRS',
  requests: 'the request itself, for http debug',
  vhosts: 'manage all vhosts or specified vhost',
  streams: 'manage all streams or specified stream',
  clients: 'manage all clients or specified client, default query top 10 clients',
  raw: 'raw api for srs, support CUID srs for instance the config',
  clusters: 'origin cluster server API',
  perf: 'System performance stat',
  valgrind: 'valgrind api with params ?check=full|added|changed|new|quick',
};
const V1_TESTS = {
  requests: 'show the request info',
  errors: 'always return an error 100',
  redirects: 'always redirect to /api/v1/test/errors',
  '[vhost]': 'http vhost for http://error.srs.com:1985/api/v1/tests/errors',
};

/**
 * Paths SRS registers with a trailing slash: without it, SRS's mux answers 302 to the path with
 * the slash (its implicit redirect), the query kept.
 */
const REDIRECT_TO_SLASH = new Set(['/api', '/api/v1', '/api/v1/vhosts', '/api/v1/streams', '/api/v1/clients']);

const procSamplers = new WeakMap<StatsSource, ProcSampler>();
function procSamplerFor(ctx: ApiContext): ProcSampler {
  if (ctx.procSampler) return ctx.procSampler;
  let s = procSamplers.get(ctx.stats);
  if (!s) {
    s = new ProcSampler();
    procSamplers.set(ctx.stats, s);
  }
  return s;
}

/**
 * Whether the API is also served on the http_server listener (SRS: when http_api.listen equals
 * http_server.listen, one listener answers both; the API paths win, the rest is HTTP-FLV / files).
 */
export function apiSharesHttpServer(config: ServerConfig): boolean {
  const a = config.httpApi;
  const h = config.httpServer;
  return a.enabled && h.enabled && a.listen.port === h.listen.port && a.listen.host === h.listen.host;
}

/** Whether `pathname` is one the API answers (so a shared listener can route the rest elsewhere). */
export function isApiPath(pathname: string, serveRoot = true): boolean {
  return pathname === '/api' || pathname.startsWith('/api/') || pathname === '/metrics' || (serveRoot && pathname === '/');
}

/**
 * Handles an API request. Returns false (and writes nothing) when the path is not the API's,
 * so the caller can pass the request on (HTTP-FLV, static files).
 */
export function handleApi(req: IncomingMessage, res: ServerResponse, ctx: ApiContext): boolean {
  const raw = req.url ?? '/';
  // parse against a fixed origin; a leading '//' must stay part of the path, not become a host
  let url: URL;
  try {
    url = new URL(`http://localhost${raw.startsWith('/') ? raw : `/${raw}`}`);
  } catch {
    httpError(res, 400);
    return true;
  }
  const pathname = url.pathname;
  if (!isApiPath(pathname, ctx.serveRoot ?? true)) return false;
  res.setHeader('Server', SERVER_HEADER);
  // a malformed percent-escape in the path or query is the client's error: 400, never a throw
  if (badTarget(raw) !== undefined) {
    httpError(res, 400);
    return true;
  }
  try {
    route(req, res, ctx, url);
  } catch (err) {
    // a failing StatsSource must cost one request, never the server
    if (!res.headersSent) httpError(res, 500, `Internal Server Error: ${(err as Error).message}`);
    else res.destroy();
  }
  return true;
}

function route(req: IncomingMessage, res: ServerResponse, ctx: ApiContext, url: URL): boolean {
  const pathname = url.pathname;

  if (applyCors(req, res, ctx.crossdomain ?? ctx.config.httpApi.crossdomain)) return true;
  // SRS's SrsHttpAuthMux: behind CORS, in front of every path with /api/ (reads and the
  // state-changing DELETE, also `?method=DELETE` over JSONP, alike)
  if (!authorized(req, res, ctx.config.httpApi.auth, pathname)) return true;

  const q = QuerySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!q.success) {
    // SRS refuses the request (ERROR_HTTP_JSONP); answer it plainly, without echoing the callback
    res.writeHead(400, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ code: ErrorCode.jsonpInvalid }));
    return true;
  }
  const query = q.data;
  const callback = query.callback || undefined;
  // SRS: with JSONP, ?method= stands for the HTTP method (a <script> tag can only GET)
  let method = (callback && query.method ? query.method : req.method ?? 'GET').toUpperCase();
  if (method === 'HEAD') method = 'GET'; // same answer, no body (sendJson leaves it out)
  const now = (ctx.now ?? Date.now)();
  const reply = (obj: unknown) => sendJson(req, res, JSON.stringify(obj), callback);

  if (pathname === '/metrics') {
    if (!ctx.metrics || !ctx.config.exporter.enabled) {
      sendCode(req, res, ErrorCode.exporterDisabled, callback);
      return true;
    }
    ctx.metrics.serve(req, res);
    return true;
  }

  if (REDIRECT_TO_SLASH.has(pathname)) {
    const location = `${pathname}/${url.search}`;
    const msg = `Redirect to ${location}`;
    res.writeHead(302, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(msg), Location: location });
    res.end(req.method === 'HEAD' ? undefined : msg);
    return true;
  }

  const summary = ctx.stats.summary();
  const env = envelope(summary);
  // SRS's routes are exact; the list routes end with '/' (and take an id after it)
  const trimmed = /^\/api\/v1\/(vhosts|streams|clients)\/$/.test(pathname) ? pathname.slice(0, -1) : pathname;

  if (trimmed === '/') {
    reply({ ...env, urls: { api: 'the api root', rtc: { v1: { play: 'Play stream', publish: 'Publish stream', nack: 'Simulate the NACK' } } } });
    return true;
  }
  if (trimmed === '/api/') {
    reply({ ...env, urls: { v1: 'the api version 1.0' } });
    return true;
  }
  if (trimmed === '/api/v1/') {
    reply({ ...env, urls: V1_URLS, tests: V1_TESTS });
    return true;
  }
  const system: Record<string, () => Record<string, unknown>> = {
    '/api/v1/rusages': rusageData,
    '/api/v1/self_proc_stats': () => procSamplerFor(ctx).selfData(),
    '/api/v1/system_proc_stats': () => procSamplerFor(ctx).systemData(),
    '/api/v1/meminfos': meminfoData,
    '/api/v1/authors': authorsData,
    '/api/v1/features': featuresData,
    '/api/v1/tests/requests': () => requestsData(req, url),
  };
  if (Object.hasOwn(system, trimmed)) {
    reply({ ...env, data: system[trimmed]!() });
    return true;
  }
  if (trimmed === '/api/v1/raw') {
    const r = rawAnswer(ctx.config, url.searchParams.get('rpc'));
    if (r.body) reply({ code: r.code, ...r.body });
    else sendCode(req, res, r.code, callback);
    return true;
  }
  if (trimmed === '/api/v1/clusters') {
    reply({ code: 0, data: clustersData(ctx.config, url, ctx.stats.streams()) });
    return true;
  }
  if (trimmed === '/api/v1/versions') {
    const [major, minor, revision] = VERSION.split('.').map((x) => Number.parseInt(x, 10) || 0);
    reply({ ...env, data: { major, minor, revision, version: VERSION } });
    return true;
  }
  if (trimmed === '/api/v1/summaries') {
    const answer = (sum: ServerSummary) => reply({ ...env, data: samplerFor(ctx).data(sum, { argv: ctx.argv ?? process.argv.join(' '), cwd: ctx.cwd ?? process.cwd() }) });
    if (!ctx.stats.refreshUdp) return answer(summary), true;
    // the UDP loss counters are the kernel's count for the server's socket: read it now, then answer
    ctx.stats.refreshUdp().catch(() => undefined).finally(() => {
      if (res.writableEnded || res.destroyed) return;
      try {
        answer(ctx.stats.summary());
      } catch {
        if (!res.headersSent) httpError(res, 500);
        else res.destroy();
      }
    });
    return true;
  }

  if (trimmed === '/api/v1/valgrind' && ctx.valgrind) {
    if (method !== 'GET') return httpError(res, 405), true;
    reply({ ...env, ...ctx.valgrind.check(query.check) });
    return true;
  }

  const m = /^\/api\/v1\/(vhosts|streams|clients)(?:\/([^/]+))?$/.exec(trimmed);
  if (!m) {
    // SRS's mux: any other path under /api/v1/ is the /api/v1/ handler (its url list), under /api/ the /api/ one
    if (pathname.startsWith('/api/v1/')) reply({ ...env, urls: V1_URLS, tests: V1_TESTS });
    else if (pathname.startsWith('/api/')) reply({ ...env, urls: { v1: 'the api version 1.0' } });
    else httpError(res, 404);
    return true;
  }
  const kind = m[1] as 'vhosts' | 'streams' | 'clients';
  const id = m[2] ? tryDecode(m[2]) : undefined;
  if (m[2] && id === undefined) {
    httpError(res, 400);
    return true;
  }
  const page = <T>(items: T[]) => {
    const start = Math.max(0, atoi(query.start));
    const count = Math.max(10, atoi(query.count));
    return items.slice(start, start + count);
  };
  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

  if (kind === 'vhosts') {
    const names = new Set(ctx.config.vhosts.map((v) => v.name));
    for (const s of ctx.stats.streams()) names.add(s.vhost);
    const found = id ? [...names].find((n) => vhostId(n) === id) : undefined;
    if (id && !found) return sendCode(req, res, ErrorCode.vhostNotFound, callback), true;
    if (method !== 'GET') return httpError(res, 405), true;
    const streams = ctx.stats.streams();
    const clients = ctx.stats.clients();
    const gone = ctx.stats.departedVhostBytes?.() ?? new Map<string, { sendBytes: number; recvBytes: number }>();
    if (found) reply({ ...env, vhost: vhostJson(found, ctx.config, streams, clients, gone.get(found)) });
    else reply({ ...env, vhosts: [...names].map((n) => vhostJson(n, ctx.config, streams, clients, gone.get(n))) });
    return true;
  }

  if (kind === 'streams') {
    const streams = ctx.stats.streams();
    const found = id ? streams.find((s) => s.id === id) : undefined;
    if (id && !found) return sendCode(req, res, ErrorCode.streamNotFound, callback), true;
    if (method !== 'GET') return httpError(res, 405), true;
    if (found) reply({ ...env, stream: streamJson(found, now) });
    else reply({ ...env, streams: page([...streams].sort(byId)).map((s) => streamJson(s, now)) });
    return true;
  }

  // clients: the list carries each client's kernel send queue, read first (async; the answer follows)
  if (method === 'GET' && ctx.stats.refreshSendQueues) {
    ctx.stats.refreshSendQueues().catch(() => undefined).finally(() => {
      if (res.writableEnded || res.destroyed) return;
      try {
        answerClients();
      } catch {
        if (!res.headersSent) httpError(res, 500);
        else res.destroy();
      }
    });
    return true;
  }
  return answerClients();

  function answerClients(): boolean {
    const clients = ctx.stats.clients();
    const found = id ? clients.find((c) => c.id === id) : undefined;
    if (id && !found) return sendCode(req, res, ErrorCode.clientNotFound, callback), true;
    if (method === 'GET') {
      if (found) reply({ ...env, client: clientJson(found, now) });
      else reply({ ...env, clients: page([...clients].sort(byId)).map((c) => clientJson(c, now)) });
      return true;
    }
    if (method === 'DELETE') {
      if (!found) return sendCode(req, res, ErrorCode.clientNotFound, callback), true;
      if (!ctx.stats.kickClient(found.id)) return sendCode(req, res, ErrorCode.clientNotFound, callback), true;
      reply(env);
      return true;
    }
    httpError(res, 405);
    return true;
  }
}
