import type { IncomingMessage, ServerResponse } from 'node:http';
import { flvFileHeader } from '../../protocol/flv.js';
import type { ClientTable } from '../live/clients.js';
import { Consumer } from '../live/consumer.js';
import { newId, type SourceRegistry } from '../live/registry.js';
import type { Logger } from '../log.js';
import type { FlvMount } from './flv-mount.js';
import { guard } from '../guard.js';
import { connectionId } from './limits.js';
import { HttpHooks, type HookClient } from '../hooks/http-hooks.js';
import type { EdgeHooks } from '../cluster/edge.js';

/** `edge`: an edge vhost's players pull the stream from its origin (src/server/cluster), as RTMP players do */
type FlvContext = { registry: SourceRegistry; clients: ClientTable; log: Logger; crossdomain: boolean; hooks?: HttpHooks; edge?: EdgeHooks };

/**
 * Serves one HTTP-FLV player: the FLV header, then the source's join bytes and batches as
 * FLV tags (shared with every other HTTP-FLV player of the stream). The response has no
 * length and is not chunked: it ends when either side closes, like SRS.
 */
export function serveFlvPlayer(
  req: IncomingMessage,
  res: ServerResponse,
  target: { mount: FlvMount; app: string; stream: string },
  ctx: FlvContext,
): void {
  // A request pipelined behind another one on the same connection waits until its response
  // owns the socket (node attaches it when the previous response finishes; an FLV response never
  // does). Taking the source only then means a client that pipelines FLV requests and leaves
  // creates no stream: no ghost in the registry or in /api/v1/streams.
  if (!res.socket) {
    // later than the request handler, so out of its guard: guarded here
    const start = guard(ctx.log, connectionId(req.socket), () => req.socket.destroy(), () => hookThenStart(req, res, target, ctx));
    res.once('socket', () => {
      if (!req.socket.destroyed) start();
    });
    return;
  }
  hookThenStart(req, res, target, ctx);
}

/** SRS's request for an HTTP-FLV player (SrsHttpMessage::to_request): tcUrl rtmp://VHOST/APP, the query as param. */
function hookClient(req: IncomingMessage, target: { mount: FlvMount; app: string; stream: string }, id: string, streamId?: string): HookClient {
  const q = (req.url ?? '').indexOf('?');
  const referer = req.headers.referer;
  return {
    clientId: id,
    ip: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
    vhost: target.mount.vhost.name,
    app: target.app,
    stream: target.stream,
    param: q >= 0 ? (req.url ?? '').slice(q) : '',
    tcUrl: `rtmp://${target.mount.vhost.name}/${target.app}`,
    pageUrl: typeof referer === 'string' ? referer : '',
    streamId,
  };
}

/** on_play (when configured) decides before the player starts: a denial is 403 and the connection closed. */
function hookThenStart(req: IncomingMessage, res: ServerResponse, target: { mount: FlvMount; app: string; stream: string }, ctx: FlvContext): void {
  const hooks = ctx.hooks;
  const vhost = target.mount.vhost;
  if (!hooks || req.method === 'HEAD' || !HttpHooks.wants(vhost.httpHooks, 'on_play')) {
    startFlvPlayer(req, res, target, ctx);
    return;
  }
  const id = newId('flv');
  const socket = req.socket;
  socket.pause();
  const go = guard(ctx.log, id, () => socket.destroy(), (ok: boolean, why?: string) => {
    if (socket.destroyed || res.writableEnded) return;
    if (!ok) {
      ctx.log.warn(`FLV play ${vhost.name}/${target.app}/${target.stream} denied by http hook: ${why ?? ''}`, id);
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close', Server: 'srsx' });
      res.end('Forbidden');
      res.once('finish', () => socket.destroy());
      return;
    }
    socket.resume();
    startFlvPlayer(req, res, target, ctx, id);
  });
  void hooks.call(vhost.httpHooks, 'on_play', hookClient(req, target, id)).then((r) => go(r.ok, r.reason), (err: Error) => go(false, err.message));
}

function startFlvPlayer(
  req: IncomingMessage,
  res: ServerResponse,
  target: { mount: FlvMount; app: string; stream: string },
  ctx: FlvContext,
  givenId?: string,
): void {
  const { vhost } = target.mount;
  const source = ctx.registry.getOrCreate(vhost, target.app, target.stream);
  const id = givenId ?? newId('flv');
  const socket = req.socket;
  res.useChunkedEncodingByDefault = false;
  res.shouldKeepAlive = false;
  const headers: Record<string, string> = { 'Content-Type': 'video/x-flv', Connection: 'close', 'Cache-Control': 'no-cache', Server: 'srsx' };
  if (ctx.crossdomain) headers['Access-Control-Allow-Origin'] = '*';
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    ctx.registry.release(source);
    return;
  }
  const startedAt = Date.now();
  // a kept-alive socket may have carried earlier answers: count this player's bytes only
  const sentBefore = socket.bytesWritten;
  res.write(flvFileHeader(true, source.flvHasVideo)); // audio-only streams say so (players would wait for video)
  socket.setNoDelay(vhost.tcpNodelay);
  let done = false;
  const consumer = new Consumer(
    id,
    { kind: 'flv' },
    {
      write: (b) => res.write(b),
      // the backlog of this player: node's ServerResponse.writableLength already includes its
      // socket's writableLength (adding socket.writableLength again counted those bytes twice)
      get writableLength() {
        return res.writableLength;
      },
      close: (reason) => finish(reason),
    },
    { queueSeconds: vhost.play.queueLength, stallMs: 30_000 },
    (_c, what) => ctx.log.warn(`FLV player ${source.key}: ${what}`, id),
  );
  ctx.clients.add({
    id,
    type: 'flv-play',
    ip: socket.remoteAddress ?? '',
    port: socket.remotePort ?? 0,
    connectedAt: Date.now(),
    vhost: vhost.name,
    app: target.app,
    streamName: target.stream,
    streamId: source.id,
    // as SRS reports an HTTP-FLV client (SrsHttpMessage::to_request)
    tcUrl: `rtmp://${vhost.name}/${target.app}`,
    pageUrl: typeof req.headers.referer === 'string' ? req.headers.referer : undefined,
    bytesRead: () => socket.bytesRead,
    bytesWritten: () => socket.bytesWritten,
    queued: () => socket.writableLength,
    kick: () => finish('kicked by the HTTP API'),
  });
  function finish(reason: string): void {
    if (done) return;
    done = true;
    consumer.closed = true;
    source.removeConsumer(consumer);
    ctx.edge?.stopped(source);
    ctx.registry.release(source);
    ctx.clients.remove(id);
    if (ctx.hooks) ctx.hooks.notify(ctx.registry.resolveVhost(vhost.name)?.httpHooks ?? vhost.httpHooks, 'on_stop', hookClient(req, target, id, source.id));
    // one line per player, whatever ended it, with what it got
    ctx.log.trace(`FLV close ${source.key}: ${reason}, ${((Date.now() - startedAt) / 1000).toFixed(1)} s, sent ${socket.bytesWritten - sentBefore} bytes`, id);
    socket.destroy();
  }
  res.on('close', guard(ctx.log, id, () => socket.destroy(), () => finish('peer closed')));
  source.addConsumer(consumer);
  ctx.log.trace(`FLV play ${source.key}`, id);
  const q = (req.url ?? '').indexOf('?');
  ctx.edge?.played(source, { vhost, app: target.app, stream: target.stream, param: q >= 0 ? (req.url ?? '').slice(q) : '', tcUrl: `rtmp://${vhost.name}/${target.app}` });
}
