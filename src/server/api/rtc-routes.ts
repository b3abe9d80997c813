/**
 * SRS's WebRTC signalling on the HTTP API port (SrsGoApiRtcWhip / SrsGoApiRtcPlay / SrsGoApiRtcPublish):
 * - WHIP `POST /rtc/v1/whip/?app=live&stream=livestream` (application/sdp offer) → 201, the answer and
 *   `Location: /rtc/v1/whip/?action=delete&token=T&app=..&stream=..&session=ID`; DELETE there ends it.
 * - WHEP `POST /rtc/v1/whep/?app=..&stream=..` (also SRS's `/rtc/v1/whip-play/`), same shape.
 * - JSON `POST /rtc/v1/publish/` and `/rtc/v1/play/`: `{api, streamurl, sdp, clientip?, tid?}` →
 *   `{code, server, service, pid, sessionid, sdp}`; errors `{code}`.
 * CORS as the rest of the API (OPTIONS preflight answered). Bodies are validated with zod.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { RtcServer } from '../rtc/rtc-server.js';
import { RtcError } from '../rtc/rtc-server.js';
import { applyCors, httpError } from './respond.js';
import type { ServerSummary } from './stats-source.js';

export interface RtcApiContext {
  rtc: RtcServer | undefined;
  crossdomain: boolean;
  summary: () => ServerSummary;
}

const MAX_BODY = 128 * 1024;

const JsonOfferSchema = z.object({
  api: z.string().optional(),
  streamurl: z.string().min(1, 'streamurl is required'),
  sdp: z.string().min(1, 'sdp is required'),
  clientip: z.string().optional().nullable(),
  tid: z.string().optional(),
});

const WhipQuerySchema = z.object({
  app: z.string().regex(/^[^/?#]+$/, 'app must be one path segment').optional(),
  stream: z.string().regex(/^[^/?#]+$/, 'stream must be one path segment').optional(),
  vhost: z.string().optional(),
  action: z.string().optional(),
  token: z.string().optional(),
  session: z.string().optional(),
});

/** Tokens for WHIP/WHEP DELETE, by session id. */
const tokens = new Map<string, string>();

export function isRtcPath(pathname: string): boolean {
  return pathname.startsWith('/rtc/v1/');
}

/** Handles /rtc/v1/...; false when the path is not one of them. */
export function handleRtcApi(req: IncomingMessage, res: ServerResponse, ctx: RtcApiContext): boolean {
  const url = new URL(`http://localhost${(req.url ?? '/').startsWith('/') ? req.url : `/${req.url}`}`);
  const p = url.pathname.replace(/\/+$/, '');
  const kind = p === '/rtc/v1/whip' ? 'whip' : p === '/rtc/v1/whep' || p === '/rtc/v1/whip-play' ? 'whep' : p === '/rtc/v1/publish' ? 'publish' : p === '/rtc/v1/play' ? 'play' : undefined;
  if (!kind) return false;
  if (applyCors(req, res, ctx.crossdomain)) return true;
  const fail = (err: unknown) => {
    if (res.headersSent) return void res.destroy();
    if (err instanceof RtcError) {
      if (kind === 'whip' || kind === 'whep') return httpError(res, err.status, `${err.message}\n`);
      return sendJson(res, { code: err.code });
    }
    httpError(res, 500, `Internal Server Error: ${(err as Error).message}`);
  };
  try {
    if (kind === 'whip' || kind === 'whep') handleWhip(req, res, ctx, url, kind).catch(fail);
    else handleJson(req, res, ctx, kind).catch(fail);
  } catch (err) {
    fail(err);
  }
  return true;
}

function sendJson(res: ServerResponse, obj: unknown): void {
  const body = JSON.stringify(obj);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new RtcError(5013, 413, `the request body is over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function clientIp(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

async function handleWhip(req: IncomingMessage, res: ServerResponse, ctx: RtcApiContext, url: URL, kind: 'whip' | 'whep'): Promise<void> {
  const q = WhipQuerySchema.safeParse(Object.fromEntries(url.searchParams));
  if (!q.success) throw new RtcError(5013, 400, `bad query: ${q.error.issues[0]?.message ?? 'invalid'}`);
  const rtc = ctx.rtc;
  if (!rtc?.running) throw new RtcError(5021, 503, 'rtc_server is not enabled (rtc_server { enabled on; })');
  const method = req.method ?? 'GET';
  if (method === 'DELETE' || q.data.action === 'delete') {
    if (method !== 'DELETE' && method !== 'POST') return httpError(res, 405);
    const id = q.data.session ?? '';
    const s = rtc.find(id);
    if (!s || tokens.get(s.id) !== q.data.token) throw new RtcError(5023, 404, `no session ${id} with that token`);
    s.close(`${kind.toUpperCase()} DELETE`);
    tokens.delete(s.id);
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
    return;
  }
  if (method !== 'POST') return httpError(res, 405);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type && type !== 'application/sdp' && type !== 'text/plain') throw new RtcError(5013, 415, `expected Content-Type application/sdp, got ${type}`);
  const offer = await readBody(req);
  const app = q.data.app ?? 'live';
  const stream = q.data.stream;
  if (!stream) throw new RtcError(5013, 400, 'the stream query parameter is required (?app=live&stream=livestream)');
  const { session, answer } = rtc.createSession(kind === 'whip' ? 'publish' : 'play', q.data.vhost, app, stream, offer, { ip: clientIp(req), apiHost: req.headers.host });
  const token = randomBytes(8).toString('hex');
  tokens.set(session.id, token);
  session.onClosed = () => tokens.delete(session.id);
  const base = kind === 'whip' ? '/rtc/v1/whip/' : '/rtc/v1/whep/';
  const location = `${base}?action=delete&token=${token}&app=${encodeURIComponent(app)}&stream=${encodeURIComponent(stream)}&session=${session.id}`;
  res.writeHead(201, { 'Content-Type': 'application/sdp', 'Content-Length': Buffer.byteLength(answer), Location: location });
  res.end(answer);
}

/** webrtc://host[:port]/app/stream[?vhost=v] → parts (as SRS's srs_parse_rtmp_url). */
export function parseStreamUrl(streamurl: string): { vhost?: string; app: string; stream: string } | undefined {
  const m = /^(?:webrtc|rtmp|https?):\/\/([^/]+)\/(.+)\/([^/?]+)(?:\?(.*))?$/.exec(streamurl.trim());
  if (!m) return undefined;
  const params = new URLSearchParams(m[4] ?? '');
  const host = m[1]!.replace(/:\d+$/, '');
  const vhost = params.get('vhost') ?? params.get('domain') ?? (/^[\d.]+$|^localhost$|^\[/.test(host) ? undefined : host);
  return { vhost, app: m[2]!, stream: m[3]! };
}

async function handleJson(req: IncomingMessage, res: ServerResponse, ctx: RtcApiContext, kind: 'publish' | 'play'): Promise<void> {
  if (req.method !== 'POST') return httpError(res, 405);
  const rtc = ctx.rtc;
  if (!rtc?.running) throw new RtcError(5021, 503, 'rtc_server is not enabled');
  const text = await readBody(req);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RtcError(5012, 400, 'the body is not JSON');
  }
  const body = JsonOfferSchema.safeParse(json);
  if (!body.success) throw new RtcError(5012, 400, body.error.issues[0]?.message ?? 'invalid body');
  const u = parseStreamUrl(body.data.streamurl);
  if (!u) throw new RtcError(5012, 400, `bad streamurl ${body.data.streamurl}`);
  const { session, answer } = rtc.createSession(kind, u.vhost, u.app, u.stream, body.data.sdp, { ip: body.data.clientip || clientIp(req), apiHost: req.headers.host });
  const s = ctx.summary();
  sendJson(res, { code: 0, server: s.serverId, service: s.serviceId, pid: String(s.pid), sessionid: session.usernameKey, sdp: answer });
}
