import { EventEmitter } from 'node:events';
import net from 'node:net';
import { EcmaArray, encodeAmf0, type Amf0Object } from '../protocol/amf0.js';
import { ProtocolError } from '../protocol/errors.js';
import { ChunkReader } from '../protocol/rtmp/chunk-reader.js';
import { encodeChunks } from '../protocol/rtmp/chunk-writer.js';
import { acknowledgement, command, parseCommand, parseUserControl, pingResponse, readU32, setBufferLength, setChunkSize, windowAckSize, type Command } from '../protocol/rtmp/control.js';
import { ClientHandshake } from '../protocol/rtmp/handshake.js';
import { ChunkStreamId, MessageType, UserControlEvent, type RtmpMessage } from '../protocol/rtmp/message.js';
import { parseRtmpUrl, type RtmpUrl } from './rtmp-url.js';

export interface RtmpClientOptions {
  /** connect + handshake + connect command must finish within this (default 10 s) */
  timeoutMs?: number;
  /** chunk size announced for what this client sends (default 60000) */
  chunkSize?: number;
  flashVer?: string;
  /**
   * connect command fields sent instead of the URL's (an edge's token traverse sends its client's
   * tcUrl, pageUrl and swfUrl to the origin, as SRS does)
   */
  connectFields?: { tcUrl?: string; pageUrl?: string; swfUrl?: string };
}

export interface StatusEvent {
  level: string;
  code: string;
  description?: string;
  /** SRS's extra object of an error status: an origin cluster's redirect has { code: 302, redirect, redirect2 } */
  ex?: Amf0Object;
}

/**
 * An RTMP client: connect, then publish (send audio/video/metadata) or play (receive them as
 * 'media' events). Used by `srsx publish`/`srsx play`, the server's forward, and tests.
 *
 * Events: 'media' (RtmpMessage: audio 8, video 9, data 18), 'status' (StatusEvent),
 * 'close' (reason: string), 'error' (Error).
 */
export class RtmpClient extends EventEmitter {
  readonly url: RtmpUrl;
  private socket: net.Socket | undefined;
  private handshake: ClientHandshake | null = new ClientHandshake(false);
  private reader = new ChunkReader((m) => this.onMessage(m));
  private outChunkSize = 128;
  private streamId = 0;
  private txid = 1;
  private pending = new Map<number, { resolve: (c: Command) => void; reject: (e: Error) => void }>();
  private statusWaiters: Array<{ codes: string[]; resolve: (s: StatusEvent) => void; reject: (e: Error) => void }> = [];
  private peerWindow = 0;
  private lastAck = 0;
  private closed = false;
  private readonly opts: Required<Omit<RtmpClientOptions, 'connectFields'>> & Pick<RtmpClientOptions, 'connectFields'>;

  constructor(url: string, opts: RtmpClientOptions = {}) {
    super();
    this.url = parseRtmpUrl(url);
    this.opts = { timeoutMs: opts.timeoutMs ?? 10_000, chunkSize: opts.chunkSize ?? 60_000, flashVer: opts.flashVer ?? 'FMLE/3.0 (compatible; srsx)', connectFields: opts.connectFields };
  }

  get bytesRead(): number {
    return this.socket?.bytesRead ?? 0;
  }

  get writableLength(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** TCP connect, handshake, and the connect command. */
  async connect(): Promise<void> {
    const { host, port } = this.url;
    await this.withTimeout('connect', new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host, port });
      this.socket = socket;
      socket.setNoDelay(true);
      const onError = (e: Error) => reject(new Error(`cannot connect to ${host}:${port}: ${e.message}`));
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.on('error', (e) => this.fail(e));
        socket.on('close', () => this.shutdown('connection closed by the server'));
        socket.on('data', (d: Buffer) => this.onData(d));
        socket.write(this.handshake!.start());
        this.once('handshake', resolve);
      });
    }));
    this.send(setChunkSize(this.opts.chunkSize));
    this.outChunkSize = this.opts.chunkSize;
    const fields = this.opts.connectFields;
    const result = await this.call('connect', {
      app: this.url.app,
      type: 'nonprivate',
      flashVer: this.opts.flashVer,
      tcUrl: fields?.tcUrl ?? this.url.tcUrl,
      ...(fields?.pageUrl !== undefined ? { pageUrl: fields.pageUrl } : {}),
      ...(fields?.swfUrl !== undefined ? { swfUrl: fields.swfUrl } : {}),
      fpad: false,
      capabilities: 15,
      audioCodecs: 4071,
      videoCodecs: 252,
      videoFunction: 1,
    });
    if (result.name === '_error') throw new Error(`connect refused: ${describe(result.args[0])}`);
  }

  async publish(): Promise<void> {
    const stream = this.url.stream;
    this.send(command('releaseStream', this.txid++, null, [stream]));
    this.send(command('FCPublish', this.txid++, null, [stream]));
    await this.createStream();
    const started = this.waitStatus(['NetStream.Publish.Start']);
    this.send(command('publish', this.txid++, null, [stream, 'live'], this.streamId, ChunkStreamId.OverStream));
    await this.withTimeout('publish', started);
  }

  async play(): Promise<void> {
    await this.createStream();
    const started = this.waitStatus(['NetStream.Play.Start']);
    this.send(command('play', this.txid++, null, [this.url.stream, -1000], this.streamId, ChunkStreamId.OverStream));
    this.send(setBufferLength(this.streamId, 1000));
    await this.withTimeout('play', started);
  }

  /** NetStream.pause of a play: resolves on the server's Pause.Notify / Unpause.Notify. */
  async pause(paused: boolean, positionMs = 0): Promise<void> {
    const notified = this.waitStatus([paused ? 'NetStream.Pause.Notify' : 'NetStream.Unpause.Notify']);
    this.send(command('pause', 0, null, [paused, positionMs], this.streamId, ChunkStreamId.OverStream));
    await this.withTimeout('pause', notified);
  }

  private async createStream(): Promise<void> {
    const r = await this.call('createStream', null);
    this.streamId = typeof r.args[0] === 'number' ? r.args[0] : 1;
  }

  /** Sends @setDataFrame onMetaData. */
  writeMetadata(meta: Amf0Object, timestamp = 0): boolean {
    return this.sendMedia(MessageType.DataAmf0, timestamp, encodeAmf0(['@setDataFrame', 'onMetaData', new EcmaArray(meta)]));
  }

  /** Sends an audio (8), video (9) or data (18) message; false when the socket is backed up. */
  sendMedia(type: number, timestamp: number, payload: Buffer): boolean {
    const csid = type === MessageType.Video ? ChunkStreamId.Video : type === MessageType.Audio ? ChunkStreamId.Audio : ChunkStreamId.OverStream;
    return this.send({ csid, type, streamId: this.streamId, timestamp, payload });
  }

  /** Resolves when the socket has flushed what was queued. */
  drain(): Promise<void> {
    const s = this.socket;
    if (!s || !s.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  close(): void {
    if (this.closed) return;
    if (this.streamId && this.socket && !this.socket.destroyed) {
      this.send(command('FCUnpublish', this.txid++, null, [this.url.stream]));
      this.send(command('deleteStream', this.txid++, null, [this.streamId]));
      this.socket.end();
    }
    this.shutdown('closed by the client');
  }

  // ------------------------------------------------------------ internals

  private send(msg: RtmpMessage): boolean {
    if (!this.socket || this.closed) return false;
    return this.socket.write(encodeChunks(msg, this.outChunkSize));
  }

  private call(name: string, object: Amf0Object | null): Promise<Command> {
    const id = this.txid++;
    const p = new Promise<Command>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.send(command(name, id, object));
    return this.withTimeout(name, p);
  }

  private waitStatus(codes: string[]): Promise<StatusEvent> {
    return new Promise((resolve, reject) => this.statusWaiters.push({ codes, resolve, reject }));
  }

  private withTimeout<T>(what: string, p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        reject(new Error(`${what} timed out after ${this.opts.timeoutMs} ms (${this.url.host}:${this.url.port})`));
        this.shutdown(`${what} timed out`);
      }, this.opts.timeoutMs);
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  }

  private onData(data: Buffer): void {
    try {
      if (this.handshake) {
        const r = this.handshake.push(data);
        if (r.send) this.socket!.write(r.send);
        if (!r.done) return;
        this.handshake = null;
        this.emit('handshake');
        if (!r.rest) return;
        data = r.rest;
      }
      this.reader.push(data);
      if (this.peerWindow > 0 && this.reader.bytesReceived - this.lastAck >= this.peerWindow / 2) {
        this.lastAck = this.reader.bytesReceived;
        this.send(acknowledgement(this.lastAck >>> 0));
      }
    } catch (err) {
      this.fail(err instanceof ProtocolError ? err : new Error(String(err)));
    }
  }

  private onMessage(msg: RtmpMessage): void {
    switch (msg.type) {
      case MessageType.Audio:
      case MessageType.Video:
        this.emit('media', msg);
        return;
      case MessageType.DataAmf0:
        this.emit('media', msg);
        return;
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        this.onCommand(parseCommand(msg));
        return;
      case MessageType.WindowAckSize:
        this.peerWindow = readU32(msg.payload, 'Window Acknowledgement Size');
        this.send(windowAckSize(this.peerWindow));
        return;
      case MessageType.UserControl: {
        const uc = parseUserControl(msg.payload);
        if (uc.event === UserControlEvent.PingRequest) this.send(pingResponse(uc.value));
        return;
      }
    }
  }

  private onCommand(cmd: Command): void {
    if (cmd.name === '_result' || cmd.name === '_error') {
      const p = this.pending.get(cmd.transactionId);
      if (p) {
        this.pending.delete(cmd.transactionId);
        p.resolve(cmd);
      }
      return;
    }
    if (cmd.name === 'onStatus') {
      const info = (cmd.args[0] ?? {}) as Amf0Object;
      const status: StatusEvent = { level: String(info.level ?? ''), code: String(info.code ?? ''), description: info.description === undefined ? undefined : String(info.description) };
      const ex = info.ex;
      if (ex !== null && typeof ex === 'object' && !Array.isArray(ex) && !(ex instanceof Date)) status.ex = ex as Amf0Object;
      this.emit('status', status);
      for (const w of [...this.statusWaiters]) {
        if (w.codes.includes(status.code)) {
          this.statusWaiters.splice(this.statusWaiters.indexOf(w), 1);
          w.resolve(status);
        } else if (status.level === 'error') {
          this.statusWaiters.splice(this.statusWaiters.indexOf(w), 1);
          w.reject(new Error(`${status.code}: ${status.description ?? ''}`));
        }
      }
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    this.shutdown(err.message);
  }

  private shutdown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    const err = new Error(reason);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const w of this.statusWaiters) w.reject(err);
    this.statusWaiters = [];
    this.socket?.destroy();
    this.emit('close', reason);
  }
}

function describe(v: unknown): string {
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `${o.code ?? ''} ${o.description ?? ''}`.trim();
  }
  return String(v);
}
