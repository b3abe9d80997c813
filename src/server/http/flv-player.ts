import type { IncomingMessage, ServerResponse } from 'node:http';
import { flvFileHeader } from '../../protocol/flv.js';
import type { ClientTable } from '../live/clients.js';
import { Consumer } from '../live/consumer.js';
import { newId, type SourceRegistry } from '../live/registry.js';
import type { Logger } from '../log.js';
import type { FlvMount } from './flv-mount.js';
import { guard } from '../guard.js';
import { connectionId } from './limits.js';

/**
 * Serves one HTTP-FLV player: the FLV header, then the source's join bytes and batches as
 * FLV tags (shared with every other HTTP-FLV player of the stream). The response has no
 * length and is not chunked: it ends when either side closes, like SRS.
 */
export function serveFlvPlayer(
  req: IncomingMessage,
  res: ServerResponse,
  target: { mount: FlvMount; app: string; stream: string },
  ctx: { registry: SourceRegistry; clients: ClientTable; log: Logger; crossdomain: boolean },
): void {
  // A request pipelined behind another one on the same connection waits until its response
  // owns the socket (node attaches it when the previous response finishes; an FLV response never
  // does). Taking the source only then means a client that pipelines FLV requests and leaves
  // creates no stream: no ghost in the registry or in /api/v1/streams.
  if (!res.socket) {
    // later than the request handler, so out of its guard: guarded here
    const start = guard(ctx.log, connectionId(req.socket), () => req.socket.destroy(), () => startFlvPlayer(req, res, target, ctx));
    res.once('socket', () => {
      if (!req.socket.destroyed) start();
    });
    return;
  }
  startFlvPlayer(req, res, target, ctx);
}

function startFlvPlayer(
  req: IncomingMessage,
  res: ServerResponse,
  target: { mount: FlvMount; app: string; stream: string },
  ctx: { registry: SourceRegistry; clients: ClientTable; log: Logger; crossdomain: boolean },
): void {
  const { vhost } = target.mount;
  const source = ctx.registry.getOrCreate(vhost, target.app, target.stream);
  const id = newId('flv');
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
  res.write(flvFileHeader(true, true));
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
    tcUrl: `http://${req.headers.host ?? ''}${req.url ?? ''}`,
    bytesRead: () => socket.bytesRead,
    bytesWritten: () => socket.bytesWritten,
    kick: () => finish('kicked by the HTTP API'),
  });
  function finish(reason: string): void {
    if (done) return;
    done = true;
    consumer.closed = true;
    source.removeConsumer(consumer);
    ctx.registry.release(source);
    ctx.clients.remove(id);
    if (reason !== 'peer closed') ctx.log.trace(`FLV close ${source.key}: ${reason}`, id);
    socket.destroy();
  }
  res.on('close', guard(ctx.log, id, () => socket.destroy(), () => finish('peer closed')));
  source.addConsumer(consumer);
  ctx.log.trace(`FLV play ${source.key}`, id);
}
