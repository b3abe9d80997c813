import type { Socket } from 'node:net';
import { EcmaArray, decodeAmf0, type Amf0Object } from '../../protocol/amf0.js';
import { ProtocolError } from '../../protocol/errors.js';
import { ChunkReader } from '../../protocol/rtmp/chunk-reader.js';
import { encodeChunks } from '../../protocol/rtmp/chunk-writer.js';
import {
  acknowledgement, command, dataMessage, onStatus, parseCommand, parseUserControl, pingResponse, readU32,
  setChunkSize, setPeerBandwidth, streamBegin, streamEOF, windowAckSize, type Command,
} from '../../protocol/rtmp/control.js';
import { ServerHandshake } from '../../protocol/rtmp/handshake.js';
import { MessageType, UserControlEvent, type RtmpMessage } from '../../protocol/rtmp/message.js';
import { TAG_HEADER_SIZE } from '../../protocol/flv.js';
import type { VhostConfig } from '../config/types.js';
import { connectionFailed } from '../guard.js';
import type { Logger } from '../log.js';
import type { ClientTable } from '../live/clients.js';
import { Consumer } from '../live/consumer.js';
import type { SourceRegistry } from '../live/registry.js';
import type { LiveSource } from '../live/source.js';
import { PLAY_STREAM_ID } from '../live/wire.js';
import { parseConnect, parseStreamName, type RtmpRequest } from './request.js';
import type { HookEvent } from '../config/hooks.js';
import { HttpHooks, type HookClient } from '../hooks/http-hooks.js';
import type { EdgeHooks, EdgeRequest } from '../cluster/edge.js';
import { discover, redirectStatus, REDIRECT_WAIT_MS, wantsDiscovery, type Discovery } from '../cluster/coworkers.js';

export interface SessionContext {
  registry: SourceRegistry;
  clients: ClientTable;
  log: Logger;
  /** limits a hostile peer cannot exceed */
  maxMessageSize: number;
  handshakeTimeoutMs: number;
  /**
   * after the handshake, a connection that has not asked to publish or play within this is
   * closed (default 30 s, SRS's SRS_CONSTS_RTMP_TIMEOUT), so idle connections cannot hold
   * max_connections slots
   */
  identifyTimeoutMs?: number;
  /** unused: publishers follow their vhost's publish { firstpkt_timeout; normal_timeout; } */
  publishIdleTimeoutMs?: number;
  /** SRS's http_hooks (on_connect/on_publish/on_play decide; on_close/on_unpublish/on_stop notify) */
  hooks?: HttpHooks;
  /** SRS's edge (vhost cluster { mode remote; }): token traverse, pull on play, push on publish */
  edge?: EdgeHooks;
}

/** messages a peer may send while a deciding http hook runs (held, then handled in order) */
const MAX_HELD_MESSAGES = 1024;

const WINDOW_ACK_SIZE = 2_500_000;
const SERVER_VERSION = '0.1.0';
const DEFAULT_IDENTIFY_TIMEOUT_MS = 30_000;
/** after a clean unpublish or closeStream, how long the connection may take to publish or play again (SRS: 3 min) */
const REIDENTIFY_TIMEOUT_MS = 180_000;
/** bytes queued to a peer that is not a player (a player's queue is the consumer's business) before it is closed */
const MAX_CONTROL_BACKLOG = 8 * 1024 * 1024;
/** SRS's defaults for publish { firstpkt_timeout; normal_timeout; } */
const DEFAULT_FIRSTPKT_TIMEOUT_MS = 20_000;
const DEFAULT_NORMAL_TIMEOUT_MS = 5_000;

type Role = 'unknown' | 'publisher' | 'player';

/**
 * One RTMP connection: handshake, then the chunk stream, then the command flow of a
 * publisher (FMLE/ffmpeg/OBS: releaseStream, FCPublish, createStream, publish) or a player
 * (createStream, play). Any protocol error ends this connection only.
 *
 * The first publish or play decides the connection's role (SRS's identify_client); another
 * publish or play while it holds that role is refused with an error status and the connection
 * closed (SRS ignores it, or ends a flash publish: either way a second stream never starts on
 * one connection). A clean FCUnpublish / deleteStream / closeStream releases what the role took
 * and the connection may publish or play again, as SRS's service loop allows.
 *
 * Every phase has a deadline: the handshake, asking to publish or play after it, and a
 * publisher's first and following media (its vhost's publish { firstpkt_timeout;
 * normal_timeout; }, read at each check so a reload applies).
 *
 * On an origin of an origin cluster (cluster { origin_cluster on; coworkers …; }), a play of a
 * stream nobody publishes here first asks the coworkers (src/server/cluster/coworkers.ts); the
 * player then gets SRS's redirect and no role: its next command, or REDIRECT_WAIT_MS, closes the
 * connection. When no coworker has the stream the play is refused (no origin).
 */
export class RtmpSession {
  readonly id: string;
  private handshake: ServerHandshake | null = new ServerHandshake();
  private readonly reader: ChunkReader;
  private outChunkSize = 128;
  private peerWindow = 0;
  private lastAck = 0;
  private role: Role = 'unknown';
  private req: Partial<RtmpRequest> = {};
  private vhost: VhostConfig | undefined;
  private source: LiveSource | undefined;
  private consumer: Consumer | undefined;
  /** play's duration argument (ms; 0: none) */
  private playDurationMs = 0;
  private closed = false;
  /** the deadline of the phase before a role: handshake, then publish/play */
  private timer: NodeJS.Timeout | undefined;
  /** publisher timeouts */
  private publishTimer: NodeJS.Timeout | undefined;
  private publishStartedAt = 0;
  private lastMediaAt = 0;
  private mediaMessages = 0;
  /** messages held while a deciding http hook (on_connect/on_publish/on_play) runs */
  private held: RtmpMessage[] | undefined;
  /** the publish/play stream name's query (`?token=…`), for the http hooks */
  private streamParam = '';
  private pageUrl = '';
  /** for the close line: when the connection opened, and what its last role did (`unpublish of KEY`) */
  private readonly openedAt = Date.now();
  private lastRole: string | undefined;
  private swfUrl = '';
  /** the origin cluster's redirect was sent: the peer's next command (or the deadline) ends the connection */
  private redirectedTo: string | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: SessionContext,
    id: string,
  ) {
    this.id = id;
    this.reader = new ChunkReader((m) => this.onMessage(m), { maxMessageSize: ctx.maxMessageSize });
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', (e: NodeJS.ErrnoException) => this.guarded(() => this.close(this.socketErrorReason(e))));
    socket.on('close', () => this.guarded(() => this.close('peer closed')));
    this.setDeadline(ctx.handshakeTimeoutMs, `handshake not finished in ${ctx.handshakeTimeoutMs} ms`);
    const c = ctx.clients;
    c.add({
      id,
      type: 'rtmp-play',
      ip: socket.remoteAddress ?? '',
      port: socket.remotePort ?? 0,
      connectedAt: Date.now(),
      vhost: '',
      app: '',
      bytesRead: () => socket.bytesRead,
      bytesWritten: () => socket.bytesWritten,
      queued: () => socket.writableLength,
      kick: () => this.close('kicked by the HTTP API'),
    });
  }

  /**
   * A socket error as the close line says it: a peer that went away (EPIPE on our write, a reset)
   * after a clean unpublish or closeStream simply closed; while it publishes or plays, the code says how.
   */
  private socketErrorReason(e: NodeJS.ErrnoException): string {
    if (e.code === 'EPIPE' || e.code === 'ECONNRESET') return this.role === 'unknown' ? 'peer closed' : `peer closed (${e.code})`;
    return `socket error: ${e.message}`;
  }

  /** Runs a handler; an exception escaping it closes this connection only, logged with its id. */
  private guarded(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (err instanceof ProtocolError) {
      this.close(`protocol error: ${err.message}`);
      return;
    }
    connectionFailed(this.ctx.log, this.id, err, () => {
      try {
        this.close('the handler failed (logged above)');
      } finally {
        this.socket.destroy();
      }
    });
  }

  /** Closes the connection unless it takes a role (publish/play) within `ms`. */
  private setDeadline(ms: number, reason: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.guarded(() => this.close(reason)), ms);
    this.timer.unref?.();
  }

  private clearDeadline(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    try {
      if (this.handshake) {
        const r = this.handshake.push(data);
        if (r.send) this.socket.write(r.send);
        if (!r.done) return;
        this.handshake = null;
        const ms = this.ctx.identifyTimeoutMs ?? DEFAULT_IDENTIFY_TIMEOUT_MS;
        this.setDeadline(ms, `no publish or play within ${ms} ms of the handshake`);
        if (!r.rest) return;
        data = r.rest;
      }
      this.reader.push(data);
      if (this.peerWindow > 0 && this.reader.bytesReceived - this.lastAck >= this.peerWindow) {
        this.lastAck = this.reader.bytesReceived;
        this.send(acknowledgement(this.lastAck >>> 0));
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private send(msg: RtmpMessage): void {
    if (this.closed) return;
    this.socket.write(encodeChunks(msg, this.outChunkSize));
    // a peer that sends (pings, commands) but never reads must not grow our memory
    if (this.role !== 'player' && this.socket.writableLength > MAX_CONTROL_BACKLOG) {
      this.close(`peer does not read: ${this.socket.writableLength} bytes queued`);
    }
  }

  private onMessage(msg: RtmpMessage): void {
    // one read can hold many messages: none of those after the one that closed the connection
    // may act (a publish behind a refused one would lock its stream with nobody to release it)
    if (this.closed) return;
    if (this.held) {
      if (this.held.length >= MAX_HELD_MESSAGES) throw new ProtocolError(`more than ${MAX_HELD_MESSAGES} messages while an http hook runs`);
      this.held.push(msg);
      return;
    }
    if (this.redirectedTo !== undefined) {
      // SRS waits for the client's answer to the redirect (any command), then closes
      if (msg.type === MessageType.CommandAmf0 || msg.type === MessageType.CommandAmf3) this.close(`redirected to ${this.redirectedTo} (the client answered)`, true);
      return;
    }
    switch (msg.type) {
      case MessageType.Video:
      case MessageType.Audio:
      case MessageType.DataAmf0:
      case MessageType.DataAmf3:
      case MessageType.Aggregate:
        this.onMedia(msg);
        return;
      case MessageType.CommandAmf0:
      case MessageType.CommandAmf3:
        this.onCommand(parseCommand(msg));
        return;
      case MessageType.WindowAckSize:
        this.peerWindow = readU32(msg.payload, 'Window Acknowledgement Size');
        return;
      case MessageType.UserControl: {
        const uc = parseUserControl(msg.payload);
        if (uc.event === UserControlEvent.PingRequest) this.send(pingResponse(uc.value));
        return;
      }
      default:
        return; // set chunk size / abort are applied by the reader; acks and the rest need nothing
    }
  }

  // ------------------------------------------------------------ commands

  private onCommand(cmd: Command): void {
    switch (cmd.name) {
      case 'connect':
        return this.onConnect(cmd);
      case 'createStream':
        return this.send(command('_result', cmd.transactionId, null, [PLAY_STREAM_ID]));
      case 'releaseStream':
      case 'FCPublish':
        return this.send(command('_result', cmd.transactionId, null, [undefined]));
      case 'publish':
        if (this.refuseSecondRole(cmd)) return;
        return this.onPublish(cmd);
      case 'play':
        if (this.refuseSecondRole(cmd)) return;
        return this.onPlay(cmd);
      case 'pause':
        return this.onPause(cmd);
      case 'FCUnpublish':
        if (this.role === 'publisher') {
          this.send(command('onFCUnpublish', 0, null, [{ level: 'status', code: 'NetStream.Unpublish.Success', description: 'unpublish success' }], PLAY_STREAM_ID));
          this.send(command('_result', cmd.transactionId, null, [undefined]));
          this.send(onStatus(PLAY_STREAM_ID, 'status', 'NetStream.Unpublish.Success', 'stream is now unpublished'));
          this.leave();
        }
        return;
      case 'deleteStream':
      case 'closeStream':
        this.leave();
        return;
      default:
        if (cmd.transactionId > 0) this.send(command('_result', cmd.transactionId, null, [undefined]));
    }
  }

  /** A publish or play while the connection already publishes or plays: refused, then closed. */
  private refuseSecondRole(cmd: Command): boolean {
    if (this.role === 'unknown') return false;
    const what = `${this.role === 'publisher' ? 'publishing' : 'playing'} ${this.source?.key ?? ''}`;
    const name = typeof cmd.args[0] === 'string' ? cmd.args[0] : '';
    if (cmd.name === 'publish') this.send(onStatus(PLAY_STREAM_ID, 'error', 'NetStream.Publish.BadName', `this connection is already ${what}: one stream per connection`));
    else this.send(onStatus(PLAY_STREAM_ID, 'error', 'NetStream.Play.Failed', `this connection is already ${what}: one stream per connection`));
    this.ctx.log.warn(`refuse ${cmd.name} '${name.slice(0, 200)}': the connection is already ${what}`, this.id);
    this.close(`second ${cmd.name} on a connection already ${what}`, true);
    return true;
  }

  private onConnect(cmd: Command): void {
    const obj = (cmd.object ?? {}) as Amf0Object;
    const tcUrl = typeof obj.tcUrl === 'string' ? obj.tcUrl : '';
    const parsed = parseConnect(tcUrl, typeof obj.app === 'string' ? obj.app : undefined);
    this.req = { ...parsed };
    const vhost = this.ctx.registry.resolveVhost(parsed.vhost);
    if (!vhost) {
      this.send(command('_error', cmd.transactionId, null, [{ level: 'error', code: 'NetConnection.Connect.Rejected', description: `no vhost ${parsed.vhost}` }]));
      this.close(`connect rejected: no vhost '${parsed.vhost}' and no default vhost`);
      return;
    }
    this.vhost = vhost;
    // tcp_nodelay (vhost, SRS's default off): Nagle off for this connection's writes
    this.socket.setNoDelay(vhost.tcpNodelay);
    const rec = this.ctx.clients.get(this.id);
    if (rec) {
      rec.vhost = vhost.name;
      rec.app = parsed.app;
      rec.tcUrl = tcUrl;
      rec.pageUrl = typeof obj.pageUrl === 'string' ? obj.pageUrl : undefined;
      rec.swfUrl = typeof obj.swfUrl === 'string' ? obj.swfUrl : undefined;
    }
    this.pageUrl = typeof obj.pageUrl === 'string' ? obj.pageUrl : '';
    this.swfUrl = typeof obj.swfUrl === 'string' ? obj.swfUrl : '';
    if (this.gate(vhost, 'on_connect', this.hookClient(), () => this.acceptConnect(cmd, obj, vhost, parsed.app, tcUrl), (why) => {
      this.send(command('_error', cmd.transactionId, null, [{ level: 'error', code: 'NetConnection.Connect.Rejected', description: why }]));
      this.close(`connect denied by http hook: ${why}`, true);
    })) return;
    this.acceptConnect(cmd, obj, vhost, parsed.app, tcUrl);
  }

  private acceptConnect(cmd: Command, obj: Amf0Object, vhost: VhostConfig, app: string, tcUrl: string): void {
    const chunkSize = vhost.chunkSize ?? this.ctx.registry.serverConfig.chunkSize;
    this.send(windowAckSize(WINDOW_ACK_SIZE));
    this.send(setPeerBandwidth(WINDOW_ACK_SIZE, 2));
    this.send(setChunkSize(chunkSize));
    this.outChunkSize = chunkSize;
    this.send(command('_result', cmd.transactionId, { fmsVer: 'FMS/3,5,3,888', capabilities: 127, mode: 1 }, [{
      level: 'status',
      code: 'NetConnection.Connect.Success',
      description: 'Connection succeeded',
      objectEncoding: typeof obj.objectEncoding === 'number' ? obj.objectEncoding : 0,
      data: new EcmaArray({ version: SERVER_VERSION, srs_server: `srsx/${SERVER_VERSION}`, srs_pid: process.pid, srs_id: this.id }) as unknown as Amf0Object,
    }]));
    this.send(command('onBWDone', 0, null, []));
    this.ctx.log.trace(`RTMP connect vhost=${vhost.name} app=${app} tcUrl=${tcUrl}`, this.id);
  }

  private target(cmd: Command): { vhost: VhostConfig; stream: string; param: string } | undefined {
    const name = typeof cmd.args[0] === 'string' ? cmd.args[0] : '';
    const parsed = parseStreamName(name);
    const vhost = parsed.vhost ? this.ctx.registry.resolveVhost(parsed.vhost) : this.vhost;
    if (!vhost || this.req.app === undefined || parsed.stream === '') {
      this.close(`${cmd.name} without connect or with an empty stream name`);
      return undefined;
    }
    return { vhost, stream: parsed.stream, param: parsed.param || this.req.param || '' };
  }

  /**
   * A deciding http hook: when `vhost` has URLs for `event`, the connection's messages are held
   * until they answer, then `allow` runs (and the held messages after it) or `deny` with the
   * reason. Returns false (nothing to wait for) when the hook is not configured.
   */
  private gate(vhost: VhostConfig, event: HookEvent, client: HookClient, allow: () => void, deny: (why: string) => void): boolean {
    const hooks = this.ctx.hooks;
    if (!hooks || !HttpHooks.wants(vhost.httpHooks, event)) return false;
    return this.hold(hooks.call(vhost.httpHooks, event, client), allow, deny);
  }

  /**
   * Holds the connection's messages until `verdict` settles, then runs `allow` (and the held
   * messages after it) or `deny` with the reason. Returns true (something to wait for).
   */
  private hold(verdict: Promise<{ ok: boolean; reason?: string }>, allow: () => void, deny: (why: string) => void): boolean {
    this.held = [];
    this.socket.pause();
    void verdict.then((r) => this.guarded(() => {
      const held = this.held ?? [];
      this.held = undefined;
      if (this.closed) return;
      if (!r.ok) return deny(r.reason ?? 'denied');
      allow();
      if (!this.closed) this.socket.resume();
      // in order; a message that starts another gate holds the rest again
      for (const m of held) {
        if (this.closed) break;
        this.onMessage(m);
      }
    }));
    return true;
  }

  private hookClient(source?: LiveSource, stream?: string, param?: string): HookClient {
    return {
      clientId: this.id,
      ip: (this.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
      vhost: source?.vhost ?? this.vhost?.name ?? this.req.vhost ?? '',
      app: this.req.app ?? '',
      stream: source?.name ?? stream,
      param: param ?? this.req.param ?? '',
      tcUrl: this.req.tcUrl ?? '',
      pageUrl: this.pageUrl,
      streamId: source?.id,
    };
  }

  /** A notification hook (on_close/on_unpublish/on_stop): fire and forget, with the vhost as configured now. */
  private notifyHook(event: HookEvent, client: HookClient, extra?: Record<string, unknown>): void {
    const hooks = this.ctx.hooks;
    const v = client.vhost ? this.ctx.registry.resolveVhost(client.vhost) : undefined;
    if (hooks && v) hooks.notify(v.httpHooks, event, client, extra);
  }

  private onPublish(cmd: Command): void {
    const t = this.target(cmd);
    if (!t) return;
    const denied = (why: string) => {
      this.send(onStatus(PLAY_STREAM_ID, 'error', 'NetStream.Publish.Denied', why));
      this.close(`publish denied by http hook: ${why}`, true);
    };
    const hook = () => {
      if (this.gate(t.vhost, 'on_publish', this.streamHookBody(t), () => this.startPublishing(t), denied)) return;
      this.startPublishing(t);
    };
    if (this.traverse(t, 'NetStream.Publish.Denied', hook)) return;
    hook();
  }

  /** What the edge (src/server/cluster) knows of this client's request. */
  private edgeRequest(t: { vhost: VhostConfig; stream: string; param: string }): EdgeRequest {
    return { vhost: t.vhost, app: this.req.app ?? '', stream: t.stream, param: t.param, tcUrl: this.req.tcUrl ?? '', pageUrl: this.pageUrl, swfUrl: this.swfUrl };
  }

  /** An edge's token_traverse (SRS sends the client's connect to the origin before serving it): false when not configured. */
  private traverse(t: { vhost: VhostConfig; stream: string; param: string }, code: string, allow: () => void): boolean {
    const verdict = this.ctx.edge?.traverse(this.edgeRequest(t), code === 'NetStream.Play.Failed' ? 'play' : 'publish');
    if (!verdict) return false;
    return this.hold(verdict, allow, (why) => {
      this.send(onStatus(PLAY_STREAM_ID, 'error', code, why));
      this.close(`refused by the origin (token_traverse): ${why}`, true);
    });
  }

  private startPublishing(t: { vhost: VhostConfig; stream: string; param: string }): void {
    this.streamParam = t.param;
    const source = this.ctx.registry.getOrCreate(t.vhost, this.req.app!, t.stream);
    if (source.isPublishing) {
      this.send(onStatus(PLAY_STREAM_ID, 'error', 'NetStream.Publish.BadName', `stream ${source.key} is already publishing`));
      this.ctx.log.warn(`refuse publish: ${source.key} already has a publisher (${source.publisherId})`, this.id);
      this.ctx.registry.release(source);
      this.close('stream busy', true);
      return;
    }
    this.role = 'publisher';
    this.source = source;
    this.clearDeadline();
    source.startPublish(this.id);
    this.ctx.hooks?.setPublisher(source.id, this.hookClient(source, undefined, t.param));
    this.updateRecord('rtmp-publish', source);
    this.send(command('onFCPublish', 0, null, [{ level: 'status', code: 'NetStream.Publish.Start', description: 'Started publishing stream.' }], PLAY_STREAM_ID));
    this.send(onStatus(PLAY_STREAM_ID, 'status', 'NetStream.Publish.Start', 'Started publishing stream.'));
    this.publishStartedAt = this.lastMediaAt = Date.now();
    this.mediaMessages = 0;
    this.armPublishTimer();
    this.ctx.log.trace(`RTMP publish ${source.key}`, this.id);
    this.ctx.edge?.published(source, this.edgeRequest(t), (why) => this.guarded(() => this.close(why)));
  }

  /** The vhost's publish timeouts as configured now (a reload applies to publishers already on). */
  private publishTimeouts(): { firstPkt: number; normal: number } {
    const name = this.source?.vhost ?? this.vhost?.name;
    const v = (name !== undefined ? this.ctx.registry.resolveVhost(name) : undefined) ?? this.vhost;
    const p = v?.publish as Partial<VhostConfig['publish']> | undefined;
    return { firstPkt: p?.firstPktTimeoutMs ?? DEFAULT_FIRSTPKT_TIMEOUT_MS, normal: p?.normalTimeoutMs ?? DEFAULT_NORMAL_TIMEOUT_MS };
  }

  /**
   * SRS's publish timeouts: no media within firstpkt_timeout of the publish, or none for
   * normal_timeout after that, unpublishes and closes (so the encoder can publish again).
   * One timer, re-armed for what is left (at most a second, so a reload that shortens the
   * timeouts applies within a second): no work per message.
   */
  private armPublishTimer(): void {
    if (this.publishTimer) clearTimeout(this.publishTimer);
    const t = this.publishTimeouts();
    const first = this.mediaMessages === 0;
    const deadline = first ? this.publishStartedAt + t.firstPkt : this.lastMediaAt + t.normal;
    const now = Date.now();
    if (now >= deadline) {
      this.close(first ? `publisher sent no media within firstpkt_timeout ${t.firstPkt} ms` : `publisher sent no media for normal_timeout ${t.normal} ms`);
      return;
    }
    this.publishTimer = setTimeout(() => this.guarded(() => this.armPublishTimer()), Math.min(deadline - now + 5, 1000));
    this.publishTimer.unref?.();
  }

  private onPlay(cmd: Command): void {
    const t = this.target(cmd);
    if (!t) return;
    // play(name, start, duration): a duration in ms stops the play after that much stream time (SRS, rtmpdump --stop)
    this.playDurationMs = typeof cmd.args[2] === 'number' && cmd.args[2] > 0 ? cmd.args[2] : 0;
    const denied = (why: string) => {
      this.send(onStatus(PLAY_STREAM_ID, 'error', 'NetStream.Play.Failed', why));
      this.close(`play denied by http hook: ${why}`, true);
    };
    const hook = () => {
      if (this.gate(t.vhost, 'on_play', this.streamHookBody(t), () => this.playOrRedirect(t), denied)) return;
      this.playOrRedirect(t);
    };
    if (this.traverse(t, 'NetStream.Play.Failed', hook)) return;
    hook();
  }

  /**
   * SRS's origin cluster: on an origin with coworkers, a stream nobody publishes here is looked up
   * at the coworkers (messages held meanwhile); the player is redirected to the origin that has it,
   * or refused when none has. Otherwise, and for a stream published here, the play starts.
   */
  private playOrRedirect(t: { vhost: VhostConfig; stream: string; param: string }): void {
    if (!wantsDiscovery(t.vhost) || this.ctx.registry.find(t.vhost.name, this.req.app!, t.stream)?.isPublishing) {
      this.startPlaying(t);
      return;
    }
    const key = `${t.vhost.name}/${this.req.app}/${t.stream}`;
    let found: Discovery = { found: false, why: 'not asked' };
    const lookup = discover(t.vhost, { vhost: t.vhost.name, host: this.req.host ?? '', app: this.req.app!, stream: t.stream, param: t.param }, this.ctx.registry.serverConfig)
      .then((d) => {
        found = d;
        return { ok: true };
      }, (err: Error) => {
        found = { found: false, why: `the lookup failed: ${err.message}` };
        return { ok: true };
      });
    this.hold(lookup, () => {
      if (this.ctx.registry.find(t.vhost.name, this.req.app!, t.stream)?.isPublishing) {
        this.startPlaying(t); // published here while the coworkers were asked
      } else if (found.found) {
        this.redirectedTo = found.url;
        this.send(redirectStatus(found.url));
        this.ctx.log.trace(`RTMP play ${key}: not here, coworker ${found.coworker} has it: redirect to ${found.url}`, this.id);
        this.setDeadline(REDIRECT_WAIT_MS, `redirected to ${found.url} (no answer in ${REDIRECT_WAIT_MS} ms)`);
        // SRS ends the play it let on_play start: on_stop, as after any play
        this.notifyHook('on_stop', this.streamHookBody(t));
      } else {
        this.ctx.log.warn(`RTMP play ${key}: no origin in the cluster has it (${found.why})`, this.id);
        this.send(onStatus(PLAY_STREAM_ID, 'error', 'NetStream.Play.StreamNotFound', `no origin: no server of the origin cluster publishes ${key}`));
        this.notifyHook('on_stop', this.streamHookBody(t));
        this.close(`no origin: ${key} is published on no server of the origin cluster`, true);
      }
    }, () => undefined);
  }

  /** The body of a stream callback (on_publish, on_play, on_stop): the client, its stream and query, the vhost. */
  private streamHookBody(t: { vhost: VhostConfig; stream: string; param: string }) {
    return { ...this.hookClient(undefined, t.stream, t.param), vhost: t.vhost.name };
  }

  private startPlaying(t: { vhost: VhostConfig; stream: string; param: string }): void {
    this.streamParam = t.param;
    const source = this.ctx.registry.getOrCreate(t.vhost, this.req.app!, t.stream);
    this.role = 'player';
    this.source = source;
    this.clearDeadline();
    this.updateRecord('rtmp-play', source);
    this.send(streamBegin(PLAY_STREAM_ID));
    this.send(onStatus(PLAY_STREAM_ID, 'status', 'NetStream.Play.Reset', `Playing and resetting ${t.stream}.`));
    this.send(onStatus(PLAY_STREAM_ID, 'status', 'NetStream.Play.Start', `Started playing ${t.stream}.`));
    this.send(dataMessage(PLAY_STREAM_ID, ['|RtmpSampleAccess', true, true]));
    this.send(dataMessage(PLAY_STREAM_ID, ['onStatus', { code: 'NetStream.Data.Start' }]));
    const vhost = t.vhost;
    const socket = this.socket;
    this.consumer = new Consumer(
      this.id,
      { kind: 'rtmp', chunkSize: this.outChunkSize },
      {
        write: (b) => this.socket.write(b),
        get writableLength() {
          return socket.writableLength;
        },
        close: (reason) => this.guarded(() => this.close(reason)),
      },
      { queueSeconds: vhost.play.queueLength, stallMs: 30_000 },
      (_c, what) => this.ctx.log.warn(`player ${source.key}: ${what}`, this.id),
    );
    if (this.playDurationMs > 0) this.consumer.stopAfter(this.playDurationMs);
    source.addConsumer(this.consumer);
    this.ctx.log.trace(`RTMP play ${source.key}`, this.id);
    this.ctx.edge?.played(source, this.edgeRequest(t));
  }

  private onPause(cmd: Command): void {
    const pause = cmd.args[0] === true;
    if (!this.consumer) return;
    this.consumer.paused = pause;
    if (pause) {
      this.send(onStatus(PLAY_STREAM_ID, 'status', 'NetStream.Pause.Notify', 'Paused stream.'));
      this.send(streamEOF(PLAY_STREAM_ID));
    } else {
      this.send(onStatus(PLAY_STREAM_ID, 'status', 'NetStream.Unpause.Notify', 'Unpaused stream.'));
      this.send(streamBegin(PLAY_STREAM_ID));
      this.consumer.resumeAtKeyframe();
    }
  }

  private updateRecord(type: 'rtmp-publish' | 'rtmp-play', source: LiveSource): void {
    const rec = this.ctx.clients.get(this.id);
    if (!rec) return;
    rec.type = type;
    rec.vhost = source.vhost;
    rec.streamName = source.name;
    rec.streamId = source.id;
  }

  // ------------------------------------------------------------ media

  private onMedia(msg: RtmpMessage, nested = false): void {
    if (this.role !== 'publisher' || !this.source) return;
    if (!nested) {
      this.mediaMessages++;
      this.lastMediaAt = Date.now();
    }
    const s = this.source;
    switch (msg.type) {
      case MessageType.Video:
        s.onVideo(msg.timestamp, msg.payload);
        return;
      case MessageType.Audio:
        s.onAudio(msg.timestamp, msg.payload);
        return;
      case MessageType.Aggregate:
        if (!nested) this.onAggregate(msg); // an aggregate inside an aggregate is ignored (SRS takes audio and video only)
        return;
      default: {
        const body = msg.type === MessageType.DataAmf3 && msg.payload[0] === 0 ? msg.payload.subarray(1) : msg.payload;
        const values = decodeAmf0(body);
        let i = 0;
        if (values[i] === '@setDataFrame') i++;
        if (values[i] !== 'onMetaData') return;
        const meta = values[i + 1];
        s.onMetadata(meta !== null && typeof meta === 'object' && !Array.isArray(meta) && !(meta instanceof Date) ? (meta as Amf0Object) : {}, msg.timestamp);
      }
    }
  }

  /** Aggregate message: FLV tags back to back; timestamps relative to the first. */
  private onAggregate(msg: RtmpMessage): void {
    const p = msg.payload;
    let pos = 0;
    let base = -1;
    while (pos + TAG_HEADER_SIZE <= p.length) {
      const type = p[pos]!;
      const size = (p[pos + 1]! << 16) | (p[pos + 2]! << 8) | p[pos + 3]!;
      const ts = ((p[pos + 7]! << 24) | (p[pos + 4]! << 16) | (p[pos + 5]! << 8) | p[pos + 6]!) >>> 0;
      if (pos + TAG_HEADER_SIZE + size > p.length) throw new ProtocolError('aggregate message: tag overruns the message');
      if (base < 0) base = ts;
      const payload = p.subarray(pos + TAG_HEADER_SIZE, pos + TAG_HEADER_SIZE + size);
      if (type === MessageType.Audio || type === MessageType.Video) {
        this.onMedia({ csid: msg.csid, type, streamId: msg.streamId, timestamp: (msg.timestamp + ts - base) >>> 0, payload }, true);
      }
      pos += TAG_HEADER_SIZE + size + 4;
    }
  }

  // ------------------------------------------------------------ teardown

  /** Releases everything the role took: the publish, the consumer, the source, the timers. */
  private leave(): void {
    if (this.publishTimer) clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    const s = this.source;
    if (!s) return;
    if (!this.closed) this.setDeadline(REIDENTIFY_TIMEOUT_MS, `no publish or play within ${REIDENTIFY_TIMEOUT_MS} ms of the last unpublish or closeStream`);
    this.lastRole = `${this.role === 'publisher' ? 'unpublish' : 'stop playing'} of ${s.key}`;
    if (this.role === 'publisher' && s.publisherId === this.id) {
      s.stopPublish();
      this.ctx.hooks?.clearPublisher(s.id, this.id);
      this.ctx.log.trace(`RTMP unpublish ${s.key}`, this.id);
      this.notifyHook('on_unpublish', this.hookClient(s, undefined, this.streamParam));
    }
    if (this.consumer) {
      s.removeConsumer(this.consumer);
      this.consumer.closed = true;
      this.consumer = undefined;
      this.ctx.edge?.stopped(s);
      this.notifyHook('on_stop', this.hookClient(s, undefined, this.streamParam));
    }
    this.source = undefined;
    this.role = 'unknown';
    this.ctx.registry.release(s);
    // the API no longer shows this connection on that stream
    const rec = this.ctx.clients.get(this.id);
    if (rec) rec.streamName = rec.streamId = undefined;
  }

  /**
   * Ends the connection and releases everything. `flush`: end the socket gracefully so a status
   * just sent reaches the peer (destroyed a second later whatever the peer does).
   */
  close(reason: string, flush = false): void {
    if (this.closed) return;
    this.closed = true;
    this.clearDeadline();
    const what = this.source ? `${this.role === 'publisher' ? 'publisher' : 'player'} of ${this.source.key}` : this.lastRole ? `after ${this.lastRole}` : 'no stream';
    this.leave();
    this.held = undefined;
    if (this.vhost) this.notifyHook('on_close', this.hookClient(), { send_bytes: this.socket.bytesWritten, recv_bytes: this.socket.bytesRead });
    this.ctx.clients.remove(this.id);
    // srs_clients_errs_total: every end but the peer's own close and a kick (SRS counts a client whose cycle ended in error)
    if (!reason.startsWith('peer closed') && !reason.startsWith('kicked')) this.ctx.clients.errors++;
    // one line per connection, whatever ended it
    this.ctx.log.trace(`RTMP close: ${reason}; ${what}, ${((Date.now() - this.openedAt) / 1000).toFixed(1)} s, ` +
      `recv ${this.socket.bytesRead} bytes, sent ${this.socket.bytesWritten} bytes`, this.id);
    if (flush && !this.socket.destroyed) {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1000).unref?.();
    } else {
      this.socket.destroy();
    }
  }
}
