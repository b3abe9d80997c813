/**
 * One WebRTC peer on the shared UDP port: a WHIP publisher or a WHEP player. ICE-lite (answers
 * Binding requests that carry our ufrag and password), DTLS-SRTP (werift-dtls: the server, or the
 * client when the offer was a=setup:passive), then SRTP media and RTCP: SR for what it sends, RR for
 * what it receives, NACKs answered from the stream's history, PLI/FIR passed to the stream's
 * publisher, PLI sent to a publisher when asked.
 */
import { randomBytes } from 'node:crypto';
import { buildNack, buildPli, buildRr, buildSr, parseRtcp, type RtcpReportBlock } from '../../protocol/rtc/rtcp.js';
import { SRTP_AUTH_TAG, SrtpContext } from '../../protocol/rtc/srtp.js';
import { bindingSuccess, parseStun, StunType, verifyIntegrity } from '../../protocol/rtc/stun.js';
import type { RtcMediaKind } from './contracts.js';
import { DtlsEndpoint, type DtlsCertificate, type DtlsRole, type SrtpKeys } from './dtls.js';
import type { NativeFanout, NativeRtcOut } from './native-fanout.js';
import type { RtcPlayerOutput, RtcStream } from './stream.js';

export type RtcRole = 'publish' | 'play';

/** What a session needs from the server that owns the socket. */
export interface RtcSessionHost {
  /** sends to the session's address, or to `address`:`port` (a STUN answer goes where its request came from) */
  send(session: RtcSession, buf: Buffer, address?: string, port?: number): void;
  /** a datagram of this session could not be used (bad SRTP tag, malformed DTLS/RTCP) */
  countBad(): void;
  /** an authentic SRTP/SRTCP packet of this session was a replay (seen before, or older than the window) and was dropped */
  countReplay(): void;
  closed(session: RtcSession, reason: string): void;
  published(session: RtcSession): void;
  log: { trace(msg: string, cid?: string): void; warn(msg: string, cid?: string): void };
  /** the native SRTP fan-out (SRTP on node's OpenSSL + sendmmsg), when available; players then send RTP through it */
  readonly fanout?: NativeFanout | undefined;
}

/** A negotiated media section, as this session sends or receives it. */
export interface RtcSessionTrack {
  kind: RtcMediaKind;
  /** the payload type on this peer's wire */
  pt: number;
  codec: string;
  clockRate: number;
  /** player: the SSRC we send (the stream's outSsrc); publisher: the SSRC the offer announced, 0 when unknown */
  ssrc: number;
  mid?: string;
}

interface RecvState {
  ssrc: number;
  kind: RtcMediaKind;
  base: number;
  maxSeq: number;
  cycles: number;
  received: number;
  expectedPrior: number;
  receivedPrior: number;
  lastSrMiddle: number;
  lastSrAt: number;
}

interface SendState {
  packets: number;
  octets: number;
  lastTs: number;
  lastAt: number;
}

export class RtcSession implements RtcPlayerOutput {
  readonly localUfrag = randomBytes(4).toString('hex');
  readonly localPwd = randomBytes(16).toString('hex');
  /** our RTCP sender SSRC */
  readonly rtcpSsrc = randomBytes(4).readUInt32BE(0) >>> 0 || 3;
  address: string | undefined;
  port = 0;
  addrKey: string | undefined;
  state: 'new' | 'connected' | 'closed' = 'new';
  readonly createdAt = Date.now();
  lastSeen = Date.now();
  bytesIn = 0;
  bytesOut = 0;
  packetsIn = 0;
  packetsOut = 0;
  nacksReceived = 0;
  nackRetransmits = 0;
  plisReceived = 0;
  plisSent = 0;
  /** SRTP/SRTCP packets dropped as replays (authentic, but seen before or older than the replay window) */
  replayed = 0;
  private dtls: DtlsEndpoint | undefined;
  private srtpIn: SrtpContext | undefined;
  private srtpOut: SrtpContext | undefined;
  /** player on the native path: its native SRTP sender context, and the address it was told */
  private nativeOut: NativeRtcOut | undefined;
  private nativePeer: string | undefined;
  private readonly tracks: Partial<Record<RtcMediaKind, RtcSessionTrack>> = {};
  /** player: the publisher's payload type we accept per kind (-1 none), refreshed when the stream's tracks change */
  private srcPt: Record<RtcMediaKind, number> = { audio: -1, video: -1 };
  private srcTracks: unknown;
  private readonly recv = new Map<number, RecvState>();
  private readonly sent: Record<RtcMediaKind, SendState> = { audio: { packets: 0, octets: 0, lastTs: 0, lastAt: 0 }, video: { packets: 0, octets: 0, lastTs: 0, lastAt: 0 } };
  private firSeq = 0;
  /** called once when the session ends */
  onClosed: (() => void) | undefined;

  constructor(
    readonly id: string,
    readonly role: RtcRole,
    readonly stream: RtcStream,
    readonly remoteUfrag: string,
    tracks: RtcSessionTrack[],
    private readonly cert: DtlsCertificate,
    private readonly host: RtcSessionHost,
    readonly nack: boolean,
    /** the offer's a=fingerprint: the peer's DTLS certificate must match it */
    private readonly peerFingerprint?: string,
    /** 'client' when the offer was a=setup:passive: we send the ClientHello after the first binding request */
    readonly dtlsRole: DtlsRole = 'server',
  ) {
    for (const t of tracks) this.tracks[t.kind] = t;
  }

  get usernameKey(): string {
    return `${this.localUfrag}:${this.remoteUfrag}`;
  }

  get trackList(): RtcSessionTrack[] {
    return Object.values(this.tracks) as RtcSessionTrack[];
  }

  // ------------------------------------------------------------------ input

  /** A STUN message already matched to this session by USERNAME. Returns false when it fails integrity. */
  onStun(buf: Buffer, address: string, port: number): boolean {
    const msg = parseStun(buf);
    if (!msg || msg.type !== StunType.bindingRequest) return false;
    if (!verifyIntegrity(buf, msg, this.localPwd)) return false;
    this.lastSeen = Date.now();
    this.host.send(this, bindingSuccess(msg.transactionId, address, port, this.localPwd), address, port);
    if (!this.dtls && this.state === 'new') this.startDtls();
    return true;
  }

  private startDtls(): void {
    this.dtls = new DtlsEndpoint(this.cert, {
      send: (b) => this.host.send(this, b),
      connected: (keys) => this.onDtlsConnected(keys),
      failed: (err) => this.close(`DTLS failed: ${err.message}`),
      closed: () => this.close('DTLS closed by the peer'),
    }, this.peerFingerprint, this.dtlsRole);
  }

  onDtls(buf: Buffer): void {
    this.lastSeen = Date.now();
    try {
      this.dtls?.receive(buf);
    } catch {
      this.host.countBad();
    }
  }

  private onDtlsConnected(keys: SrtpKeys): void {
    if (this.state !== 'new') return;
    this.srtpOut = new SrtpContext(keys.localKey, keys.localSalt);
    this.srtpIn = new SrtpContext(keys.remoteKey, keys.remoteSalt);
    if (this.role === 'play' && this.host.fanout) this.nativeOut = this.host.fanout.create(keys.localKey, keys.localSalt);
    this.state = 'connected';
    this.host.log.trace(`RTC: ${this.role} session ${this.id} of ${this.stream.key} connected (DTLS-SRTP) from ${this.address}:${this.port}`, this.id);
    if (this.role === 'publish') {
      this.stream.onKeyframeRequest = () => this.sendPli();
      this.host.published(this);
    } else {
      this.stream.addPlayer(this);
    }
  }

  onRtp(buf: Buffer): void {
    if (!this.srtpIn || this.role !== 'publish') return;
    this.lastSeen = Date.now();
    const plain = this.srtpIn.unprotectRtp(buf);
    if (!plain) return this.refused(this.srtpIn);
    this.bytesIn += buf.length;
    this.packetsIn++;
    const ssrc = plain.readUInt32BE(8);
    let st = this.recv.get(ssrc);
    if (!st) {
      const kind = this.kindOf(ssrc, plain[1]! & 0x7f);
      if (!kind) return;
      const seq = plain.readUInt16BE(2);
      st = { ssrc, kind, base: seq, maxSeq: (seq - 1) & 0xffff, cycles: 0, received: 0, expectedPrior: 0, receivedPrior: 0, lastSrMiddle: 0, lastSrAt: 0 };
      this.recv.set(ssrc, st);
    }
    this.noteSeq(st, plain.readUInt16BE(2));
    this.stream.feed(st.kind, plain);
  }

  /** Counts a packet unprotect refused: a replay apart from the unusable ones. */
  private refused(ctx: SrtpContext): void {
    if (ctx.lastFailure === 'replay') {
      this.replayed++;
      this.host.countReplay();
    } else this.host.countBad();
  }

  /** The kind of a publisher's SSRC: announced in the offer, else learned from the payload type. */
  private kindOf(ssrc: number, pt: number): RtcMediaKind | undefined {
    for (const t of this.trackList) if (t.ssrc === ssrc) return t.kind;
    for (const t of this.trackList) {
      if (t.pt === pt && t.ssrc === 0) {
        t.ssrc = ssrc;
        const info = this.stream.track(t.kind);
        if (info) info.ssrc = ssrc;
        return t.kind;
      }
    }
    return undefined;
  }

  private noteSeq(st: RecvState, seq: number): void {
    st.received++;
    const delta = (seq - st.maxSeq) & 0xffff;
    if (delta === 0 || delta >= 0x8000) return; // duplicate or late (a retransmission)
    if (seq < st.maxSeq) st.cycles += 0x10000;
    if (delta > 1 && delta <= 64 && this.nack) {
      const missing: number[] = [];
      for (let i = 1; i < delta; i++) missing.push((st.maxSeq + i) & 0xffff);
      this.sendRtcp(buildNack(this.rtcpSsrc, st.ssrc, missing));
    }
    st.maxSeq = seq;
  }

  onRtcp(buf: Buffer): void {
    if (!this.srtpIn) return;
    this.lastSeen = Date.now();
    const plain = this.srtpIn.unprotectRtcp(buf);
    if (!plain) return this.refused(this.srtpIn);
    this.bytesIn += buf.length;
    for (const p of parseRtcp(plain)) {
      if (p.type === 'sr') {
        const st = this.recv.get(p.ssrc);
        if (st) {
          st.lastSrMiddle = (((p.ntpHigh & 0xffff) << 16) | (p.ntpLow >>> 16)) >>> 0;
          st.lastSrAt = Date.now();
        }
      } else if (p.type === 'nack' && this.role === 'play') {
        this.nacksReceived++;
        const kind: RtcMediaKind = p.media === this.stream.outSsrc.audio ? 'audio' : 'video';
        const h = this.stream.history[kind];
        for (const seq of p.seqs) {
          const pkt = h.get(seq);
          if (pkt) {
            this.nackRetransmits++;
            this.sendMedia(kind, pkt);
          }
        }
      } else if ((p.type === 'pli' || p.type === 'fir') && this.role === 'play') {
        this.plisReceived++;
        this.stream.requestKeyframe();
      }
    }
  }

  // ------------------------------------------------------------------ output

  /** THE hot path (player): copy into a new SRTP packet with this player's SSRC/PT, no header extension. */
  sendMedia(kind: RtcMediaKind, pkt: Buffer): void {
    const out = this.srtpOut;
    if (!out) return;
    const t = kind === 'video' ? this.tracks.video : this.tracks.audio;
    if (!t) return;
    if (this.srcTracks !== this.stream.tracks) this.refreshSource();
    if ((pkt[1]! & 0x7f) !== this.srcPt[kind]) return;
    const b0 = pkt[0]!;
    const hl = 12 + (b0 & 0x0f) * 4;
    let payload = hl;
    if (b0 & 0x10) {
      if (pkt.length < hl + 4) return;
      payload = hl + 4 + pkt.readUInt16BE(hl + 2) * 4;
    }
    if (payload > pkt.length) return;
    const len = hl + pkt.length - payload;
    const fanout = this.host.fanout;
    if (this.nativeOut && fanout) {
      // native: the stream's packet is copied, rewritten, protected and sent in one batch for all players
      if (this.nativePeer !== this.addrKey) {
        this.nativePeer = this.addrKey;
        if (this.address) fanout.setPeer(this.nativeOut, this.address, this.port);
      }
      this.countOut(kind, pkt, len - hl, len + SRTP_AUTH_TAG);
      fanout.queue(this.nativeOut, t.ssrc, t.pt, pkt, len + SRTP_AUTH_TAG);
      return;
    }
    const buf = Buffer.allocUnsafe(len + SRTP_AUTH_TAG);
    pkt.copy(buf, 0, 0, hl);
    buf[0] = b0 & 0xef;
    buf[1] = (pkt[1]! & 0x80) | t.pt;
    buf.writeUInt32BE(t.ssrc, 8);
    pkt.copy(buf, hl, payload);
    out.protectRtpInPlace(buf, len, hl);
    this.countOut(kind, pkt, len - hl, buf.length);
    this.host.send(this, buf);
  }

  private countOut(kind: RtcMediaKind, pkt: Buffer, payloadBytes: number, wireBytes: number): void {
    const s = this.sent[kind];
    s.packets++;
    s.octets += payloadBytes;
    s.lastTs = pkt.readUInt32BE(4);
    s.lastAt = this.stream.lastFeedAt;
    this.packetsOut++;
    this.bytesOut += wireBytes;
    this.stream.countSent(wireBytes);
  }

  private refreshSource(): void {
    this.srcTracks = this.stream.tracks;
    for (const kind of ['audio', 'video'] as const) {
      const mine = this.tracks[kind];
      const src = this.stream.track(kind);
      this.srcPt[kind] = mine && src && src.codec.toLowerCase() === mine.codec.toLowerCase() ? src.payloadType : -1;
    }
  }

  streamEnded(): void {
    /* players wait for the next publisher, as SRS's do */
  }

  private sendRtcp(plain: Buffer): void {
    if (!this.srtpOut || this.state !== 'connected') return;
    const b = this.srtpOut.protectRtcp(plain);
    this.bytesOut += b.length;
    this.host.send(this, b);
  }

  /** PLI to the publisher's video SSRC (a player joined or asked). */
  sendPli(): void {
    const v = this.tracks.video;
    if (!v || this.role !== 'publish') return;
    const media = v.ssrc || [...this.recv.values()].find((s) => s.kind === 'video')?.ssrc || 0;
    if (!media) return;
    this.plisSent++;
    this.firSeq = (this.firSeq + 1) & 0xff;
    this.sendRtcp(buildPli(this.rtcpSsrc, media));
  }

  /** Once a second: SR for what we sent (players), RR for what we received (publishers). */
  tick(now: number): void {
    if (this.state !== 'connected') return;
    if (this.role === 'play') {
      for (const kind of ['audio', 'video'] as const) {
        const t = this.tracks[kind];
        const s = this.sent[kind];
        if (!t || s.packets === 0) continue;
        const rtpTime = (s.lastTs + Math.round(((now - s.lastAt) * t.clockRate) / 1000)) >>> 0;
        this.sendRtcp(buildSr(t.ssrc, now, rtpTime, s.packets, s.octets));
      }
    } else if (this.recv.size) {
      const blocks: RtcpReportBlock[] = [];
      for (const st of this.recv.values()) {
        const ext = st.cycles + st.maxSeq;
        const expected = ext - st.base + 1;
        const lost = Math.max(0, expected - st.received);
        const expInt = expected - st.expectedPrior;
        const recvInt = st.received - st.receivedPrior;
        st.expectedPrior = expected;
        st.receivedPrior = st.received;
        const lostInt = expInt - recvInt;
        const fraction = expInt <= 0 || lostInt <= 0 ? 0 : Math.min(255, Math.floor((lostInt << 8) / expInt));
        const dlsr = st.lastSrAt ? Math.floor(((now - st.lastSrAt) / 1000) * 65536) : 0;
        blocks.push({ ssrc: st.ssrc, fractionLost: fraction, cumulativeLost: Math.min(lost, 0x7fffff), highestSeq: ext >>> 0, jitter: 0, lsr: st.lastSrMiddle, dlsr });
      }
      this.sendRtcp(buildRr(this.rtcpSsrc, blocks.slice(0, 31)));
    }
  }

  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.dtls?.close();
    if (this.nativeOut) {
      this.host.fanout?.close(this.nativeOut); // the native SRTP context freed now (the GC finalizer is the backstop)
      this.nativeOut = undefined;
    }
    if (this.role === 'play') this.stream.removePlayer(this);
    this.host.closed(this, reason);
    this.onClosed?.();
  }
}
