/**
 * HTTP-TS, HTTP-AAC and HTTP-MP3 live streams (`http_remux { mount [vhost]/[app]/[stream].ts; }`,
 * .aac, .mp3), as SRS. One remuxer per stream and format, fed by a source tap; its output is
 * merged every mw_latency into one Buffer written to every player of that format. Slow players
 * get the HTTP-FLV bounds: beyond queue_length seconds of stream queued they skip to the next
 * keyframe, and one stuck for 30 s is closed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { adtsHeader, parseAacConfig, parseAudioPayload, type AacConfig } from '../../protocol/mpegts/codec.js';
import { FlvTsMuxer } from '../../protocol/mpegts/muxer.js';
import { TsWriter } from '../../protocol/mpegts/ts.js';
import { MessageType } from '../../protocol/rtmp/message.js';
import type { VhostConfig } from '../config/types.js';
import type { ClientTable } from '../live/clients.js';
import type { MediaMessage } from '../live/media.js';
import { newId, type SourceRegistry } from '../live/registry.js';
import type { LiveSource, SourceTap } from '../live/source.js';
import type { Logger } from '../log.js';
import { compileMount } from './flv-mount.js';

export type RemuxKind = 'ts' | 'aac' | 'mp3';

const CONTENT_TYPE: Record<RemuxKind, string> = { ts: 'video/MP2T', aac: 'audio/x-aac', mp3: 'audio/mpeg' };
/** the TS of the current GOP kept for joiners, at most this much */
const MAX_GOP_BYTES = 8 * 1024 * 1024;
const STALL_MS = 30_000;

export interface TsMount {
  vhost: VhostConfig;
  kind: RemuxKind;
  match(pathname: string): { app: string; stream: string } | undefined;
}

/** The .ts/.aac/.mp3 mounts of the vhosts (the .flv ones are flv-mount's). */
export function compileTsMounts(vhosts: VhostConfig[]): TsMount[] {
  const out: TsMount[] = [];
  for (const vhost of vhosts) {
    if (!vhost.httpRemux.enabled) continue;
    const mount = vhost.httpRemux.mount.trim();
    const m = /\.(ts|aac|mp3)$/.exec(mount);
    if (!m) continue;
    const kind = m[1] as RemuxKind;
    const ext = `.${kind}`;
    // the same template rules as HTTP-FLV: match with the extension swapped
    const flv = compileMount({ ...vhost, httpRemux: { enabled: true, mount: `${mount.slice(0, -ext.length)}.flv` } });
    if (!flv) continue;
    out.push({
      vhost,
      kind,
      match: (pathname) => (pathname.endsWith(ext) ? flv.match(`${pathname.slice(0, -ext.length)}.flv`) : undefined),
    });
  }
  return out;
}

export interface Player {
  id: string;
  res: ServerResponse;
  waitingKeyframe: boolean;
  stalledSince: number;
  stalledAt: number;
  close(reason: string): void;
}

/** One stream's remuxer for one format, shared by its players. */
export class Remux implements SourceTap {
  readonly players = new Set<Player>();
  private ts: FlvTsMuxer | undefined;
  private aac: AacConfig | undefined;
  private pending: Buffer[] = [];
  private pendingKeyOffset = -1;
  private pendingKeys: boolean[] = [];
  private pendingBytes = 0;
  private gop: Buffer[] = [];
  private gopBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly source: LiveSource,
    readonly kind: RemuxKind,
    private readonly mwLatencyMs: number,
    private readonly queueSeconds: number,
    private readonly log: Logger,
    private readonly onEmpty: (r: Remux) => void,
  ) {
    if (kind === 'ts') this.ts = new FlvTsMuxer({ audioAggregateMs: 0 });
    source.taps.add(this);
    // what the stream already has: metadata, sequence headers, the GOP, the unflushed batch
    for (const m of source.cachedMessages()) this.onMessage(m);
  }

  onMessage(m: MediaMessage): void {
    if (this.kind === 'ts') {
      const mux = this.ts!;
      const chunk = m.type === MessageType.Video ? mux.video(m.timestamp, m.payload) : m.type === MessageType.Audio ? (mux.audio(m.timestamp, m.payload), mux.flushAudio()) : undefined;
      if (chunk) this.push(chunk.bytes, chunk.keyframe && mux.hasVideo);
      return;
    }
    if (m.type !== MessageType.Audio) return;
    const a = parseAudioPayload(m.payload);
    if (!a) return;
    if (this.kind === 'aac' && a.codec === 'aac') {
      if (a.kind === 'config') this.aac = parseAacConfig(a.data);
      else if (this.aac) this.push(Buffer.concat([adtsHeader(this.aac, a.data.length), a.data]), false);
    } else if (this.kind === 'mp3' && a.codec === 'mp3') this.push(a.data, false);
  }

  /** Whether a joiner can start on any chunk (no video to wait for). */
  private get audioOnly(): boolean {
    return this.kind !== 'ts' || !this.ts!.hasVideo;
  }

  private push(bytes: Buffer, keyframe: boolean): void {
    if (keyframe && this.pendingKeyOffset < 0) this.pendingKeyOffset = this.pendingBytes;
    this.pending.push(bytes);
    this.pendingKeys.push(keyframe);
    this.pendingBytes += bytes.length;
    if (this.mwLatencyMs <= 0) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.mwLatencyMs);
      this.timer.unref?.();
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
    const keyOffset = this.audioOnly ? 0 : this.pendingKeyOffset;
    const now = Date.now();
    const budget = Math.max(256 * 1024, this.source.bytesPerSecond * this.queueSeconds);
    for (const p of this.players) this.deliver(p, batch, keyOffset, budget, now);
    // the GOP a joiner gets: what players have been sent since the last keyframe
    if (this.kind === 'ts' && !this.audioOnly) {
      this.pending.forEach((bytes, i) => {
        if (this.pendingKeys[i]) {
          this.gop = [];
          this.gopBytes = 0;
        }
        if ((this.pendingKeys[i] || this.gop.length > 0) && this.gopBytes + bytes.length <= MAX_GOP_BYTES) {
          this.gop.push(bytes);
          this.gopBytes += bytes.length;
        }
      });
    }
    this.pending = [];
    this.pendingKeys = [];
    this.pendingBytes = 0;
    this.pendingKeyOffset = -1;
  }

  private deliver(p: Player, batch: Buffer, keyOffset: number, budget: number, now: number): void {
    const queued = p.res.writableLength;
    if (p.waitingKeyframe) {
      if (queued === 0 && keyOffset >= 0) {
        p.waitingKeyframe = false;
        p.stalledSince = 0;
        p.res.write(keyOffset === 0 ? batch : batch.subarray(keyOffset));
        return;
      }
      if (queued === 0 || queued < p.stalledAt) {
        p.stalledSince = now;
        p.stalledAt = queued;
      } else if (now - p.stalledSince > STALL_MS) p.close(`no progress writing for ${Math.round((now - p.stalledSince) / 1000)}s (${queued} bytes stuck)`);
      return;
    }
    if (queued > budget) {
      p.waitingKeyframe = true;
      p.stalledSince = now;
      p.stalledAt = queued;
      this.log.warn(`${this.kind.toUpperCase()} player ${this.source.key}: ${queued} bytes queued (over ${this.queueSeconds}s of stream): skipping to the next keyframe`, p.id);
      return;
    }
    p.res.write(batch);
  }

  /** A new player: PAT/PMT and the current GOP for TS with video, else from the next chunk. */
  add(p: Player): void {
    if (this.kind === 'ts') {
      if (!this.audioOnly) {
        if (this.gop.length > 0) p.res.write(Buffer.concat(this.gop, this.gopBytes));
        else p.waitingKeyframe = true;
      } else if (this.ts!.hasAudio) p.res.write(new TsWriter(this.ts!.ts.tracks).tables());
    }
    this.players.add(p);
  }

  remove(p: Player): void {
    this.players.delete(p);
    if (this.players.size === 0) this.stop();
  }

  onUnpublish(): void {
    this.flush();
    for (const p of [...this.players]) p.close('the stream was unpublished');
    this.stop();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.source.taps.delete(this);
    this.onEmpty(this);
  }
}

const remuxes = new Map<string, Remux>();

export function serveTsPlayer(
  req: IncomingMessage,
  res: ServerResponse,
  target: { mount: TsMount; app: string; stream: string },
  ctx: { registry: SourceRegistry; clients: ClientTable; log: Logger; crossdomain: boolean },
): void {
  // as HTTP-FLV: a pipelined request takes the stream only once its response owns the socket
  if (!res.socket) {
    res.once('socket', () => {
      if (!req.socket.destroyed) startPlayer(req, res, target, ctx);
    });
    return;
  }
  startPlayer(req, res, target, ctx);
}

function startPlayer(
  req: IncomingMessage,
  res: ServerResponse,
  target: { mount: TsMount; app: string; stream: string },
  ctx: { registry: SourceRegistry; clients: ClientTable; log: Logger; crossdomain: boolean },
): void {
  const { vhost, kind } = target.mount;
  const source = ctx.registry.getOrCreate(vhost, target.app, target.stream);
  const id = newId(kind);
  const socket = req.socket;
  res.useChunkedEncodingByDefault = false;
  res.shouldKeepAlive = false;
  const headers: Record<string, string> = { 'Content-Type': CONTENT_TYPE[kind], Connection: 'close', 'Cache-Control': 'no-cache', Server: 'srsx' };
  if (ctx.crossdomain) headers['Access-Control-Allow-Origin'] = '*';
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    ctx.registry.release(source);
    return;
  }
  socket.setNoDelay(vhost.tcpNodelay);
  const key = `${kind}:${source.key}`;
  let remux = remuxes.get(key);
  if (!remux || remux.source !== source) {
    remux = new Remux(source, kind, vhost.minLatency ? 0 : vhost.play.mwLatencyMs, vhost.play.queueLength, ctx.log, (r) => {
      if (remuxes.get(key) === r) remuxes.delete(key);
    });
    remuxes.set(key, remux);
  }
  const r = remux;
  let done = false;
  const startedAt = Date.now();
  const sentBefore = socket.bytesWritten;
  const player: Player = {
    id,
    res,
    waitingKeyframe: false,
    stalledSince: 0,
    stalledAt: 0,
    close: (reason) => finish(reason),
  };
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
    queued: () => socket.writableLength,
    kick: () => finish('kicked by the HTTP API'),
  });
  function finish(reason: string): void {
    if (done) return;
    done = true;
    r.remove(player);
    ctx.registry.release(source);
    ctx.clients.remove(id);
    // one line per player, whatever ended it, with what it got
    ctx.log.trace(`${kind.toUpperCase()} close ${source.key}: ${reason}, ${((Date.now() - startedAt) / 1000).toFixed(1)} s, sent ${socket.bytesWritten - sentBefore} bytes`, id);
    socket.destroy();
  }
  res.on('close', () => finish('peer closed'));
  r.add(player);
  ctx.log.trace(`${kind.toUpperCase()} play ${source.key}`, id);
}
