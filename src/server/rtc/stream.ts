/**
 * A WebRTC stream (vhost/app/stream): one publisher (a WHIP session or the bridge from RTMP) feeds plain
 * RTP; WHEP players and bridge sinks receive it. The fan-out is the hot path: per packet it stores the
 * packet in the track's history (for NACKs) and hands the same Buffer to every player, which rewrites
 * SSRC/PT while copying into its SRTP output (see RtcSession.sendMedia); nothing else is done per player.
 */
import { randomBytes } from 'node:crypto';
import type { RtcMediaKind, RtcStreamPort, RtcTrackInfo, RtpSink } from './contracts.js';

/** The last N packets of a track, by sequence number (NACK answers). */
export class PacketHistory {
  private readonly ring: Array<Buffer | undefined>;
  private readonly mask: number;

  constructor(size = 1024) {
    this.ring = new Array(size);
    this.mask = size - 1;
  }

  put(packet: Buffer): void {
    this.ring[packet.readUInt16BE(2) & this.mask] = packet;
  }

  get(seq: number): Buffer | undefined {
    const p = this.ring[seq & this.mask];
    return p && p.readUInt16BE(2) === seq ? p : undefined;
  }

  clear(): void {
    this.ring.fill(undefined);
  }
}

/** What the stream needs of a WHEP player session. */
export interface RtcPlayerOutput {
  sendMedia(kind: RtcMediaKind, packet: Buffer): void;
  streamEnded(): void;
}

export interface RtcStreamOwner {
  /** the stream has no publisher, player or sink left */
  release(stream: RtcStream): void;
}

export class RtcStream implements RtcStreamPort {
  readonly key: string;
  tracks: RtcTrackInfo[] = [];
  /** SSRCs players see, stable across publisher changes */
  readonly outSsrc: Record<RtcMediaKind, number> = { audio: randomBytes(4).readUInt32BE(0) >>> 0 || 1, video: randomBytes(4).readUInt32BE(0) >>> 0 || 2 };
  readonly history: Record<RtcMediaKind, PacketHistory> = { audio: new PacketHistory(512), video: new PacketHistory(2048) };
  readonly players = new Set<RtcPlayerOutput>();
  private readonly sinks = new Set<RtpSink>();
  /** client id of the publisher ('bridge' for RTMP) */
  publisherId: string | undefined;
  publisherKind: 'whip' | 'bridge' | undefined;
  onKeyframeRequest: (() => void) | undefined;
  audioUnavailable: string | undefined;
  readonly createdAt = Date.now();
  frames = 0;
  recvBytes = 0;
  sendBytes = 0;
  packets = 0;
  private lastKeyframeRequest = 0;
  /** when the last packet was fed (one clock read per packet, not per player) */
  lastFeedAt = 0;

  constructor(
    readonly id: string,
    readonly vhost: string,
    readonly app: string,
    readonly name: string,
    private readonly owner: RtcStreamOwner,
  ) {
    this.key = `${vhost}/${app}/${name}`;
  }

  track(kind: RtcMediaKind): RtcTrackInfo | undefined {
    for (const t of this.tracks) if (t.kind === kind) return t;
    return undefined;
  }

  feed(kind: RtcMediaKind, packet: Buffer): void {
    this.lastFeedAt = Date.now();
    this.packets++;
    this.recvBytes += packet.length;
    if (kind === 'video' && packet[1]! & 0x80) this.frames++;
    this.history[kind].put(packet);
    for (const p of this.players) p.sendMedia(kind, packet);
    if (this.sinks.size) for (const s of this.sinks) s.onRtp(kind, packet);
  }

  subscribe(sink: RtpSink): () => void {
    this.sinks.add(sink);
    this.requestKeyframe();
    return () => {
      this.sinks.delete(sink);
      this.maybeRelease();
    };
  }

  addPlayer(p: RtcPlayerOutput): void {
    this.players.add(p);
    this.requestKeyframe(true);
  }

  removePlayer(p: RtcPlayerOutput): void {
    this.players.delete(p);
    this.maybeRelease();
  }

  /** Keyframe requests reach the publisher at most every 500 ms (a join forces one). */
  requestKeyframe(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastKeyframeRequest < 500) return;
    this.lastKeyframeRequest = now;
    this.onKeyframeRequest?.();
  }

  /** A publisher takes the stream with its tracks. */
  startPublish(id: string, kind: 'whip' | 'bridge', tracks: RtcTrackInfo[]): void {
    this.publisherId = id;
    this.publisherKind = kind;
    this.tracks = tracks;
    this.history.audio.clear();
    this.history.video.clear();
  }

  /** The publisher left: sinks and players are told; the stream stays while players wait for the next publisher. */
  stopPublish(): void {
    this.publisherId = undefined;
    this.publisherKind = undefined;
    this.onKeyframeRequest = undefined;
    this.audioUnavailable = undefined;
    for (const s of [...this.sinks]) {
      this.sinks.delete(s);
      try {
        s.onEnd();
      } catch {
        /* a sink's failure is its own */
      }
    }
    this.maybeRelease();
  }

  get idle(): boolean {
    return this.publisherId === undefined && this.players.size === 0 && this.sinks.size === 0;
  }

  private maybeRelease(): void {
    if (this.idle) this.owner.release(this);
  }

  countSent(bytes: number): void {
    this.sendBytes += bytes;
  }
}
