/**
 * SRS's origin cluster (vhost cluster { origin_cluster on; coworkers a b; }): several origins,
 * each with some of the streams. A player that asks an origin for a stream nobody publishes there
 * is sent to the origin that has it:
 *
 * - the origin asks each coworker's HTTP API, in the config's order,
 *   `http://<coworker>/api/v1/clusters?vhost=&ip=&app=&stream=&coworker=<coworker>`;
 *   a coworker that does not answer in COWORKER_TIMEOUT_MS, answers garbage, or answers
 *   `origin: null` (or an empty ip / port 0) is skipped; a coworker that is this server is skipped.
 * - the first origin found makes the player's redirect (an RTMP "302"): an onStatus error
 *   NetConnection.Connect.Rejected whose `ex` holds code 302, `redirect` (the tcUrl) and
 *   `redirect2` (the whole RTMP URL). An SRS or srsx edge reconnects there; a player that does
 *   not follow redirects sees an error.
 *
 * The session (src/server/rtmp/session.ts) runs the lookup and the redirect phase; this module
 * knows the HTTP side and the redirect's shape.
 */
import http from 'node:http';
import os from 'node:os';
import { z } from 'zod';
import type { Amf0Object } from '../../protocol/amf0.js';
import { ChunkStreamId, type RtmpMessage } from '../../protocol/rtmp/message.js';
import { command } from '../../protocol/rtmp/control.js';
import type { ServerConfig, VhostConfig } from '../config/types.js';
import { DEFAULT_VHOST } from '../live/registry.js';

/** one coworker's answer must come within this (a dead coworker must not hold the player long) */
export const COWORKER_TIMEOUT_MS = 2000;
/** after the redirect, how long the player may take to answer or leave before it is closed (SRS: 3 s) */
export const REDIRECT_WAIT_MS = 3000;

/** What /api/v1/clusters answers (SRS and srsx): `data.origin` is null when the stream is not there. */
const ClustersAnswer = z.object({
  data: z.object({
    origin: z.object({ ip: z.string(), port: z.number().int() }).passthrough().nullable(),
  }).passthrough(),
}).passthrough();

export interface ClusterQuery {
  /** the vhost the player resolved to */
  vhost: string;
  /** the host of the player's tcUrl */
  host: string;
  app: string;
  stream: string;
  /** the play's query (`?token=…`), '' when none */
  param: string;
}

export type Discovery =
  | { found: true; coworker: string; ip: string; port: number; url: string }
  | { found: false; why: string };

/** Whether origin_cluster applies to a play on `vhost` (an origin with coworkers). */
export function wantsDiscovery(vhost: VhostConfig): boolean {
  return vhost.cluster.mode !== 'remote' && vhost.cluster.originCluster && vhost.cluster.coworkers.length > 0;
}

/**
 * The player's new URL on the origin `ip:port`, as SRS builds it: rtmp://ip:port/app/stream, the
 * play's param, and `vhost=` when the param has none: the vhost unless it is the default one, else
 * the tcUrl's host when that is a name (not an IPv4 address).
 */
export function redirectUrl(ip: string, port: number, q: ClusterQuery): string {
  let query = q.param.replace(/^\?/, '');
  if (!query.includes('vhost=')) {
    const guess = q.vhost !== DEFAULT_VHOST ? q.vhost : /^\d{1,3}(\.\d{1,3}){3}$/.test(q.host) ? '' : q.host;
    if (guess) query += `&vhost=${guess}`;
  }
  query = query.replace(/^[&?]+/, '');
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return `rtmp://${host}:${port}/${q.app}/${q.stream}${query ? `?${query}` : ''}`;
}

/** The redirect a player gets: onStatus(error, NetConnection.Connect.Rejected) with ex { code 302, redirect (tcUrl), redirect2 (URL) }. */
export function redirectStatus(url: string): RtmpMessage {
  const slash = url.lastIndexOf('/');
  const tcUrl = slash > 0 ? url.slice(0, slash) : url;
  const info = { level: 'error', code: 'NetConnection.Connect.Rejected', description: 'RTMP 302 Redirect', ex: { code: 302, redirect: tcUrl, redirect2: url } };
  return command('onStatus', 0, null, [info], 0, ChunkStreamId.OverStream);
}

/**
 * The origin a redirect names (an SRS or srsx origin cluster's onStatus error with `ex`): the
 * host and port of `ex.redirect2`, else of `ex.redirect` (the tcUrl, SRS 3's form); undefined
 * when the status is not a usable redirect. As SRS's edge, only the host and port are taken: the
 * edge keeps asking for its own vhost, app, stream and param.
 */
export function redirectTarget(ex: Amf0Object | undefined): { host: string; port: number } | undefined {
  if (!ex) return undefined;
  const target = typeof ex.redirect2 === 'string' ? ex.redirect2 : typeof ex.redirect === 'string' ? ex.redirect : undefined;
  if (!target) return undefined;
  let u: URL;
  try {
    u = new URL(target);
  } catch {
    return undefined;
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : 1935;
  if (u.protocol !== 'rtmp:' || host === '' || !(port > 0 && port < 65536)) return undefined;
  return { host, port };
}

/** names of this machine's loopback and any-address */
export const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '::1', '0.0.0.0', '::']);

/** Whether `coworker` (host:port) is this server's own HTTP API. */
export function isSelf(coworker: string, config: ServerConfig): boolean {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(coworker);
  if (!m || !config.httpApi.enabled) return false;
  const port = m[2] === undefined ? 80 : Number(m[2]);
  if (port !== config.httpApi.listen.port) return false;
  const host = m[1]!.toLowerCase();
  if (LOCAL_NAMES.has(host) || host.startsWith('127.') || host === config.httpApi.listen.host) return true;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.address.toLowerCase() === host) return true;
  }
  return false;
}

/** an answer larger than this is not a /api/v1/clusters answer */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * GET `url` within `timeoutMs`: the body, or why not. node:http rather than fetch, which refuses
 * the browsers' "bad ports" (an API may listen on 6666 or 10080).
 */
function httpGet(url: string, timeoutMs: number): Promise<{ body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { headers: { accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer over ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(d);
      });
      res.on('end', () => resolve(res.statusCode === 200 ? { body: Buffer.concat(chunks).toString('utf8') } : { error: `HTTP ${res.statusCode}` }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    // one deadline for the whole exchange (connect, answer, body)
    const timer = setTimeout(() => req.destroy(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code && !e.message.startsWith('no answer') ? e.code : e.message }));
    req.on('close', () => clearTimeout(timer));
  });
}

/** One coworker's answer: the origin it names, or why not. */
async function askCoworker(coworker: string, q: ClusterQuery, timeoutMs: number): Promise<{ ip: string; port: number } | string> {
  // SRS reads the query without percent-decoding: `coworker=127.0.0.1%3A1985` would come back as its
  // ip. So ':' '/' '[' ']' go as they are (SRS sends the values raw); the rest is percent-encoded.
  const enc = (v: string) => encodeURIComponent(v).replace(/%(3A|2F|5B|5D)/gi, (m) => decodeURIComponent(m));
  const query = Object.entries({ vhost: q.vhost, ip: q.host, app: q.app, stream: q.stream, coworker }).map(([k, v]) => `${k}=${enc(v)}`).join('&');
  const got = await httpGet(`http://${coworker}/api/v1/clusters?${query}`, timeoutMs);
  if ('error' in got) return got.error;
  let body: unknown;
  try {
    body = JSON.parse(got.body);
  } catch {
    return 'not JSON';
  }
  const parsed = ClustersAnswer.safeParse(body);
  if (!parsed.success) return 'not a /api/v1/clusters answer';
  const origin = parsed.data.data.origin;
  if (!origin) return 'not there';
  // an address or a host name, nothing else (it goes into the player's URL)
  if (!/^[A-Za-z0-9.:-]+$/.test(origin.ip) || origin.port <= 0 || origin.port > 65535) return `unusable origin '${origin.ip}':${origin.port}`;
  return { ip: origin.ip, port: origin.port };
}

/** Asks the vhost's coworkers in order; the first that names an origin wins. Never rejects. */
export async function discover(vhost: VhostConfig, q: ClusterQuery, config: ServerConfig, timeoutMs = COWORKER_TIMEOUT_MS): Promise<Discovery> {
  const tried: string[] = [];
  for (const coworker of vhost.cluster.coworkers) {
    if (isSelf(coworker, config)) continue;
    const r = await askCoworker(coworker, q, timeoutMs);
    if (typeof r === 'string') {
      tried.push(`${coworker}: ${r}`);
      continue;
    }
    return { found: true, coworker, ip: r.ip, port: r.port, url: redirectUrl(r.ip, r.port, q) };
  }
  return { found: false, why: tried.length ? tried.join('; ') : 'no coworker but this server' };
}
