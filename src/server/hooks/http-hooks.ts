/**
 * SRS's HTTP callbacks (`vhost { http_hooks { enabled on; on_connect URL…; … } }`), as
 * srs_app_http_hooks.cpp sends them: a POST of a JSON object (the same fields in the same order
 * as SRS) to each URL of the event, one after the other. A URL answers "allowed" with HTTP 200
 * (or 201) and a body that is `0` or a JSON object whose integer `code` is 0; anything else — another
 * status, an empty or non-JSON body, a non-zero code, a timeout, a refused connection — is a
 * failure, and the next URLs are not called.
 *
 * on_connect, on_publish and on_play decide: a failure denies the client. on_close, on_unpublish
 * and on_stop are notifications: a failure is logged and ignored. on_dvr and on_hls report files
 * (a failure is logged). Every call is bounded by `timeoutMs` (SRS's HTTP client: 30 s) and its
 * answer by MAX_RESPONSE_BYTES.
 */
import http from 'node:http';
import https from 'node:https';
import type { HookEvent, HttpHooksConfig } from '../config/hooks.js';
import type { Logger } from '../log.js';

export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;
/** an answer longer than this is a failure (a hook answers `{"code":0}`) */
export const MAX_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_VHOST = '__defaultVhost__';

/** What SRS's SrsRequest carries into a hook. */
export interface HookClient {
  clientId: string;
  ip: string;
  vhost: string;
  app: string;
  stream?: string;
  /** the client's query string with its '?' (`?token=abc`), or '' */
  param: string;
  tcUrl: string;
  pageUrl?: string;
  /** the live stream's id in the HTTP API (/api/v1/streams/ID), when it exists */
  streamId?: string;
}

export interface HookIds {
  serverId: string;
  serviceId: string;
}

export interface HookResult {
  ok: boolean;
  /** why it failed: the URL and what came back */
  reason?: string;
}

/** SRS's stream_url: `/app/stream` on the default vhost, `vhost/app/stream` otherwise (extension dropped). */
export function streamUrl(vhost: string, app: string, stream: string): string {
  const base = stream.slice(stream.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  const name = dot > 0 ? base.slice(0, dot) : base;
  return `${vhost === DEFAULT_VHOST ? '' : vhost}/${app}/${name}`;
}

/** The JSON object SRS posts for `event` (field order as SRS's). */
export function hookBody(event: HookEvent, ids: HookIds, c: HookClient, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const head: Record<string, unknown> = {
    server_id: ids.serverId,
    service_id: ids.serviceId,
    action: event,
    client_id: c.clientId,
    ip: c.ip,
    vhost: c.vhost,
    app: c.app,
  };
  const stream = c.stream ?? '';
  const tail = () => {
    const t: Record<string, unknown> = { stream_url: streamUrl(c.vhost, c.app, stream) };
    if (c.streamId) t.stream_id = c.streamId;
    return t;
  };
  switch (event) {
    case 'on_connect':
      return { ...head, stream, param: c.param, tcUrl: c.tcUrl, pageUrl: c.pageUrl ?? '' };
    case 'on_close':
      return { ...head, send_bytes: extra.send_bytes ?? 0, recv_bytes: extra.recv_bytes ?? 0 };
    case 'on_play':
      return { ...head, stream, tcUrl: c.tcUrl, param: c.param, pageUrl: c.pageUrl ?? '', ...tail() };
    case 'on_dvr':
      return { ...head, tcUrl: c.tcUrl, stream, param: c.param, cwd: extra.cwd ?? process.cwd(), file: extra.file ?? '', ...tail() };
    case 'on_hls':
      return {
        ...head, tcUrl: c.tcUrl, stream, param: c.param, duration: extra.duration ?? 0, cwd: extra.cwd ?? process.cwd(),
        file: extra.file ?? '', url: extra.url ?? '', m3u8: extra.m3u8 ?? '', m3u8_url: extra.m3u8_url ?? '', seq_no: extra.seq_no ?? 0, ...tail(),
      };
    default: // on_publish, on_unpublish, on_stop
      return { ...head, tcUrl: c.tcUrl, stream, param: c.param, ...tail() };
  }
}

/** Whether a hook's answer allows (SRS's SrsHttpHooks::do_post rules); the reason when not. */
export function judgeAnswer(status: number, body: string): string | undefined {
  if (status !== 200 && status !== 201) return `HTTP status ${status}`;
  const text = body.trim();
  if (text === '') return 'empty response';
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 100)}`;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return text === '0' ? undefined : `response number code ${text.slice(0, 100)}`;
  const code = (v as Record<string, unknown>).code;
  if (typeof code !== 'number' || !Number.isInteger(code)) return `response object has no integer code: ${text.slice(0, 100)}`;
  return code === 0 ? undefined : `response code ${code}`;
}

/** The URL and the module that requests it, or why it cannot be requested. */
function httpTarget(url: string): { u: URL; mod: typeof http | typeof https } | Error {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return new Error(`not a URL: ${url}`);
  }
  const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
  return mod ? { u, mod } : new Error(`unsupported scheme ${u.protocol}`);
}

/** One POST; resolves with the status and body, rejects on network errors and the timeout. */
export function postJson(url: string, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const target = httpTarget(url);
    if (target instanceof Error) {
      reject(target);
      return;
    }
    const { u, mod } = target;
    const req = mod.request(u, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' },
      timeout: timeoutMs,
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref?.();
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (d: Buffer) => {
        n += d.length;
        if (n > MAX_RESPONSE_BYTES) {
          req.destroy(new Error(`answer longer than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(d);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.end(body);
  });
}

/** SRS's timeout of an on_hls_notify GET */
export const HLS_NOTIFY_TIMEOUT_MS = 10_000;

/**
 * SRS's on_hls_notify URL: [server_id] [service_id] [app] [stream] [ts_url] [param] replaced; a
 * ts_url that is itself an http(s) URL (hls_entry_prefix on a CDN) is fetched as it is.
 */
export function hlsNotifyUrl(template: string, v: { serverId: string; serviceId: string; app: string; stream: string; tsUrl: string; param: string }): string {
  if (/^https?:\/\//.test(v.tsUrl)) template = v.tsUrl;
  return template
    .replaceAll('[server_id]', v.serverId)
    .replaceAll('[service_id]', v.serviceId)
    .replaceAll('[app]', v.app)
    .replaceAll('[stream]', v.stream)
    .replaceAll('[ts_url]', v.tsUrl)
    .replaceAll('[param]', v.param);
}

/**
 * A GET that reads at most `maxBytes` of the answer, then closes the connection (SRS's
 * on_hls_notify: the CDN fetches the segment, the server does not want it). Resolves the status
 * and the bytes read; rejects on network errors and the timeout.
 */
export function getPrefix(url: string, maxBytes: number, timeoutMs: number): Promise<{ status: number; read: number }> {
  return new Promise((resolve, reject) => {
    const target = httpTarget(url);
    if (target instanceof Error) {
      reject(target);
      return;
    }
    const { u, mod } = target;
    const req = mod.request(u, { method: 'GET', headers: { Connection: 'close' }, timeout: timeoutMs });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref?.();
    let settled = false;
    const done = (status: number, read: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ status, read });
      req.destroy();
    };
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        reject(err);
      }
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let n = 0;
      if (maxBytes <= 0) {
        done(status, 0);
        return;
      }
      res.on('data', (d: Buffer) => {
        n += d.length;
        if (n >= maxBytes) done(status, Math.min(n, maxBytes));
      });
      res.on('end', () => done(status, n));
      res.on('error', () => done(status, Math.min(n, maxBytes)));
    });
    req.end();
  });
}

/** The events whose failure denies the client. */
const DECIDING = new Set<HookEvent>(['on_connect', 'on_publish', 'on_play']);

export class HttpHooks {
  /** who publishes each live source (source id → the publisher as hooks describe it), for on_dvr and on_hls */
  private readonly publishers = new Map<string, HookClient>();

  constructor(
    private readonly ids: () => HookIds,
    private readonly log: Logger,
    private readonly timeoutMs = DEFAULT_HOOK_TIMEOUT_MS,
  ) {}

  /** Whether `event` has URLs to call on this vhost (callers skip the async path otherwise). */
  static wants(hooks: HttpHooksConfig | undefined, event: HookEvent): boolean {
    return hooks !== undefined && hooks.enabled && hooks.urls[event].length > 0;
  }

  /**
   * Calls every URL of `event` in order; stops at the first failure. Resolves {ok:false} with the
   * reason for a deciding event; notifications always resolve ok (a failure is logged).
   */
  async call(hooks: HttpHooksConfig | undefined, event: HookEvent, c: HookClient, extra?: Record<string, unknown>): Promise<HookResult> {
    if (!HttpHooks.wants(hooks, event)) return { ok: true };
    const body = JSON.stringify(hookBody(event, this.ids(), c, extra));
    for (const url of hooks!.urls[event]) {
      let reason: string | undefined;
      try {
        const r = await postJson(url, body, this.timeoutMs);
        reason = judgeAnswer(r.status, r.body);
      } catch (err) {
        reason = (err as Error).message;
      }
      if (reason !== undefined) {
        const why = `${event} ${url}: ${reason}`;
        if (DECIDING.has(event)) {
          this.log.warn(`http hook denied: ${why}`, c.clientId);
          return { ok: false, reason: why };
        }
        this.log.warn(`http hook failed (ignored, as SRS): ${why}`, c.clientId);
        return { ok: true };
      }
    }
    this.log.info(`http hook ${event} ok`, c.clientId);
    return { ok: true };
  }

  /** The publisher of a source, as on_dvr and on_hls describe it (set at publish, cleared at unpublish). */
  setPublisher(sourceId: string, client: HookClient): void {
    this.publishers.set(sourceId, { ...client, streamId: sourceId });
  }

  /** The publisher of a source now (undefined when none): on_hls of a segment cut before it left. */
  publisherOf(sourceId: string): HookClient | undefined {
    return this.publishers.get(sourceId);
  }

  clearPublisher(sourceId: string, clientId: string): void {
    if (this.publishers.get(sourceId)?.clientId === clientId) this.publishers.delete(sourceId);
  }

  /** on_dvr / on_hls for a source's file: described by its publisher (a source without one is described by its names). */
  notifyFile(
    hooks: HttpHooksConfig | undefined,
    event: 'on_dvr' | 'on_hls',
    source: { id: string; vhost: string; app: string; name: string },
    extra: Record<string, unknown>,
    publisher?: HookClient,
  ): void {
    if (!HttpHooks.wants(hooks, event)) return;
    const c = publisher ?? this.publishers.get(source.id) ?? {
      clientId: '', ip: '', vhost: source.vhost, app: source.app, stream: source.name, param: '', tcUrl: `rtmp://${source.vhost}/${source.app}`, streamId: source.id,
    };
    this.notify(hooks, event, { ...c, stream: source.name }, extra);
  }

  /**
   * on_hls_notify for one segment: each URL fetched in order with a GET reading at most
   * `nbNotify` bytes (SRS: hls_nb_notify); failures are logged and ignored, as SRS.
   */
  notifyHls(hooks: HttpHooksConfig | undefined, source: { id: string; vhost: string; app: string; name: string }, tsUrl: string, nbNotify: number, publisher?: HookClient): void {
    if (!hooks?.enabled || hooks.hlsNotify.length === 0) return;
    const ids = this.ids();
    const param = (publisher ?? this.publishers.get(source.id))?.param ?? '';
    const urls = hooks.hlsNotify.map((t) => hlsNotifyUrl(t, { ...ids, app: source.app, stream: source.name, tsUrl, param }));
    void (async () => {
      for (const url of urls) {
        const t0 = Date.now();
        try {
          const r = await getPrefix(url, nbNotify, HLS_NOTIFY_TIMEOUT_MS);
          this.log.trace(`http hook on_hls_notify ${url}: status=${r.status} read=${r.read}B spent=${Date.now() - t0}ms`);
        } catch (err) {
          this.log.warn(`http hook on_hls_notify ${url} failed (ignored, as SRS): ${(err as Error).message}`);
        }
      }
    })();
  }

  /** A notification, fire and forget (never throws, never rejects). */
  notify(hooks: HttpHooksConfig | undefined, event: HookEvent, c: HookClient, extra?: Record<string, unknown>): void {
    if (!HttpHooks.wants(hooks, event)) return;
    void this.call(hooks, event, c, extra).catch(() => undefined);
  }
}
