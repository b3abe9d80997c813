/**
 * The WebRTC core of `srsx serve`: one UDP socket (rtc_server.listen) for every session, demuxed by the
 * first byte (RFC 7983): STUN picks the session by USERNAME (`ourUfrag:theirUfrag`) and binds the peer's
 * address; DTLS and SRTP/SRTCP then find the session by address. Sessions come from SDP offers
 * (WHIP/WHEP/SRS's JSON API, see src/server/api/rtc-routes.ts).
 *
 * The UDP loop: the socket asks for rtc_server.recvbuf/sendbuf (default 10 MB, SRS's value) and logs once
 * when the kernel clamps them (net.core.rmem_max/wmem_max) with the `srsx tune --udp` that fixes it.
 * Every 5 s (SRS's RTC stats period) while sessions exist it logs `RTC: Server conns=N, ..., loss=(r:R,s:S)`:
 * r = datagrams the kernel dropped on this socket (its drops column in /proc/net/udp: receive-buffer
 * overflows, which the process itself cannot see; node has no SO_RXQ_OVFL), s = sends that failed
 * (ENOBUFS/EAGAIN/EPERM... reported by dgram's callback). Datagrams that arrive but cannot be used
 * (malformed, unknown peer, bad SRTP tag) are counted apart as `bad`; authentic SRTP/SRTCP packets
 * dropped by the replay window (seen before, or too old) as `replay` (per session too, in its close line).
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import { UserError } from '../../errors.js';
import { readUdpSockets } from '../../host/proc-net.js';
import { hostRoot } from '../../host/root.js';
import { readSysctl } from '../../host/sysctl.js';
import { classify } from '../../protocol/rtc/rtcp.js';
import { parseStun } from '../../protocol/rtc/stun.js';
import { answerSetup, buildAnswer, parseSdp, pickH264, SdpError, type AnswerMedia, type SdpCodec, type SdpMedia } from '../../protocol/rtc/sdp.js';
import type { ClientStats, StreamStats } from '../api/stats-source.js';
import type { ServerConfig, VhostConfig } from '../config/types.js';
import type { ClientTable } from '../live/clients.js';
import type { Logger } from '../log.js';
import { dgramFd, loadRtcNative, NativeFanout } from './native-fanout.js';
import type { RtcMediaKind, RtcStreamHub, RtcStreamPort, RtcTrackInfo } from './contracts.js';
import { createCertificate, type DtlsCertificate } from './dtls.js';
import { RtcSession, type RtcRole, type RtcSessionHost, type RtcSessionTrack } from './session.js';
import { RtcStream, type RtcStreamOwner } from './stream.js';

/** SRS-style error codes for the JSON API (srs_kernel_error.hpp names). */
export const RtcErrorCode = {
  sdpDecode: 5012, // ERROR_RTC_SDP_DECODE
  sdpExchange: 5013, // ERROR_RTC_SDP_EXCHANGE
  streamBusy: 5014, // ERROR_RTC_SOURCE_BUSY
  disabled: 5021, // ERROR_RTC_DISABLED
  noSession: 5023,
} as const;

export class RtcError extends Error {
  constructor(
    readonly code: number,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface UdpLossCounters {
  /** datagrams the kernel dropped on our socket (receive buffer full), since the socket opened */
  recvDrops: number;
  /** sends that failed */
  sendErrors: number;
  /** datagrams received but unusable (malformed, unknown peer, bad integrity/tag) */
  bad: number;
  /** authentic SRTP/SRTCP packets dropped as replays (seen before, or older than the replay window) */
  replayed: number;
  recvPackets: number;
  sendPackets: number;
  recvBytes: number;
  sendBytes: number;
  /** socket buffers: asked and granted (as getsockopt reports, i.e. doubled by the kernel) */
  recvBufferAsked: number;
  recvBufferGranted: number;
  sendBufferAsked: number;
  sendBufferGranted: number;
  port: number;
}

export interface CreateSessionResult {
  session: RtcSession;
  answer: string;
}

const STATS_PERIOD_MS = 5_000;

export class RtcServer implements RtcStreamHub, RtcStreamOwner, RtcSessionHost {
  private socket: dgram.Socket | undefined;
  /** the native SRTP fan-out (SRTP on node's OpenSSL + sendmmsg), undefined on the JS path */
  fanout: NativeFanout | undefined;
  private cert: DtlsCertificate | undefined;
  private readonly byUsername = new Map<string, RtcSession>();
  private readonly byAddr = new Map<string, RtcSession>();
  private readonly sessions = new Map<string, RtcSession>();
  private readonly streams = new Map<string, RtcStream>();
  private readonly listeners = new Set<(port: RtcStreamPort, vhost: string, app: string, stream: string) => void>();
  private timer: NodeJS.Timeout | undefined;
  private statsAt = 0;
  private candidates: string[] = [];
  readonly counters: UdpLossCounters = {
    recvDrops: 0, sendErrors: 0, bad: 0, replayed: 0, recvPackets: 0, sendPackets: 0, recvBytes: 0, sendBytes: 0,
    recvBufferAsked: 0, recvBufferGranted: 0, sendBufferAsked: 0, sendBufferGranted: 0, port: 0,
  };
  private kernelDropsAtOpen: number | undefined;
  private lastBadLog = 0;
  private last = { drops: 0, sendErrors: 0, recv: 0, send: 0, bad: 0, replayed: 0 };
  private readonly onSent = (err: Error | null) => {
    if (err) this.counters.sendErrors++;
  };

  constructor(
    private config: ServerConfig,
    readonly log: Logger,
    private readonly clients: ClientTable,
    private readonly resolveVhost: (name: string | undefined) => VhostConfig | undefined,
  ) {}

  get port(): number {
    return this.counters.port;
  }

  get running(): boolean {
    return this.socket !== undefined;
  }

  async start(): Promise<void> {
    const rc = this.config.rtcServer;
    this.cert = await createCertificate();
    this.candidates = resolveCandidates(rc.candidate);
    const sock = dgram.createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        if (err.code === 'EADDRINUSE') reject(new UserError(`rtc_server: UDP port ${rc.listen} is already in use`, { hint: `stop what listens there (ss -lunp 'sport = :${rc.listen}') or change rtc_server.listen` }));
        else reject(new UserError(`rtc_server: cannot listen on UDP ${rc.listen}: ${err.message}`));
      };
      sock.once('error', onError);
      sock.bind(rc.listen, '0.0.0.0', () => {
        sock.off('error', onError);
        resolve();
      });
    });
    sock.on('error', (err) => this.log.warn(`RTC: UDP socket error: ${err.message}`));
    sock.on('message', (msg, rinfo) => {
      try {
        this.onDatagram(msg, rinfo.address, rinfo.port);
      } catch (err) {
        // one datagram (or a bridge's sink) failing must never take the server down
        this.counters.bad++;
        if (this.counters.bad - this.lastBadLog > 1000 || this.lastBadLog === 0) {
          this.lastBadLog = this.counters.bad;
          this.log.warn(`RTC: a datagram from ${rinfo.address}:${rinfo.port} failed: ${(err as Error).stack ?? err}`);
        }
      }
    });
    this.socket = sock;
    this.counters.port = sock.address().port;
    this.startFanout(sock);
    this.setBuffers(sock);
    this.timer = setInterval(() => this.onTimer(), 1000);
    this.timer.unref();
    this.log.trace(`RTC: UDP listen at 0.0.0.0:${this.counters.port}, candidates ${this.candidates.join(',')}, fingerprint ${this.cert.fingerprint}`);
    void this.readKernelDrops().then((d) => (this.kernelDropsAtOpen = d));
  }

  /** The native send path when the addon has its SRTP fan-out (SRSX_RTC_NATIVE=0 forces JS); logs which path runs. */
  private startFanout(sock: dgram.Socket): void {
    const st = loadRtcNative();
    const fd = st.ok ? dgramFd(sock) : -1;
    if (st.ok && fd >= 0) {
      const c = this.counters;
      this.fanout = new NativeFanout(st.native, fd, (packets, bytes, lost) => {
        c.sendPackets += packets;
        c.sendBytes += bytes;
        c.sendErrors += lost;
      });
      this.log.trace(`rtc: native SRTP fan-out (${st.version})`);
    } else {
      this.fanout = undefined;
      this.log.trace(`rtc: JS SRTP (${st.ok ? 'no file descriptor for the UDP socket' : st.reason})`);
    }
  }

  private setBuffers(sock: dgram.Socket): void {
    const rc = this.config.rtcServer;
    const c = this.counters;
    c.recvBufferAsked = rc.recvbuf;
    c.sendBufferAsked = rc.sendbuf;
    try {
      sock.setRecvBufferSize(rc.recvbuf);
    } catch (err) {
      this.log.warn(`RTC: set SO_RCVBUF ${rc.recvbuf}: ${(err as Error).message}`);
    }
    try {
      sock.setSendBufferSize(rc.sendbuf);
    } catch (err) {
      this.log.warn(`RTC: set SO_SNDBUF ${rc.sendbuf}: ${(err as Error).message}`);
    }
    c.recvBufferGranted = sock.getRecvBufferSize();
    c.sendBufferGranted = sock.getSendBufferSize();
    this.log.trace(`RTC: UDP #${c.port} SO_RCVBUF(expect=${c.recvBufferAsked}, actual=${c.recvBufferGranted}), SO_SNDBUF(expect=${c.sendBufferAsked}, actual=${c.sendBufferGranted})`);
    // Linux doubles what it grants (bookkeeping overhead) and caps the request at net.core.{r,w}mem_max
    const clampedR = c.recvBufferGranted < c.recvBufferAsked * 2;
    const clampedS = c.sendBufferGranted < c.sendBufferAsked * 2;
    if (clampedR || clampedS) {
      const size = `${Math.ceil(Math.max(clampedR ? c.recvBufferAsked : 0, clampedS ? c.sendBufferAsked : 0) / (1024 * 1024))}M`;
      void Promise.all([readSysctl(hostRoot(), 'net.core.rmem_max'), readSysctl(hostRoot(), 'net.core.wmem_max')]).catch(() => [undefined, undefined]).then(([rmax, wmax]) => {
        const parts: string[] = [];
        if (clampedR) parts.push(`receive buffer asked ${c.recvBufferAsked} B, granted ${c.recvBufferGranted} B (net.core.rmem_max=${rmax ?? '?'})`);
        if (clampedS) parts.push(`send buffer asked ${c.sendBufferAsked} B, granted ${c.sendBufferGranted} B (net.core.wmem_max=${wmax ?? '?'})`);
        this.log.warn(`RTC: the kernel clamped the UDP socket's ${parts.join('; ')}: datagrams will drop under load; fix: srsx tune --udp ${size}`);
      });
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of [...this.sessions.values()]) s.close('server stopping');
    this.fanout?.flush(); // nothing may reach the socket's fd once it is closed
    this.fanout = undefined;
    const sock = this.socket;
    this.socket = undefined;
    if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
  }

  reload(config: ServerConfig): void {
    this.config = config;
  }

  // ------------------------------------------------------------------ UDP

  private onDatagram(msg: Buffer, address: string, port: number): void {
    const c = this.counters;
    c.recvPackets++;
    c.recvBytes += msg.length;
    const kind = classify(msg);
    if (kind === 'stun') {
      const m = parseStun(msg);
      const session = m?.username ? this.byUsername.get(m.username) : undefined;
      if (!session || !session.onStun(msg, address, port)) return void c.bad++;
      const key = `${address}:${port}`;
      // a browser checks from several local sockets: media follows the first, then the nominated one
      if (session.addrKey !== key && (!session.addrKey || m!.useCandidate)) {
        if (session.addrKey && this.byAddr.get(session.addrKey) === session) this.byAddr.delete(session.addrKey);
        const other = this.byAddr.get(key);
        if (other && other !== session) other.close('another session took its address');
        session.addrKey = key;
        session.address = address;
        session.port = port;
        this.byAddr.set(key, session);
      }
      return;
    }
    const session = this.byAddr.get(`${address}:${port}`);
    if (!session) return void c.bad++;
    if (kind === 'rtp') session.onRtp(msg);
    else if (kind === 'rtcp') session.onRtcp(msg);
    else if (kind === 'dtls') session.onDtls(msg);
    else c.bad++;
  }

  send(session: RtcSession, buf: Buffer, address = session.address, port = session.port): void {
    const sock = this.socket;
    if (!sock || !address) return;
    this.counters.sendPackets++;
    this.counters.sendBytes += buf.length;
    try {
      sock.send(buf, port, address, this.onSent);
    } catch {
      this.counters.sendErrors++;
    }
  }

  countBad(): void {
    this.counters.bad++;
  }

  countReplay(): void {
    this.counters.replayed++;
  }

  private onTimer(): void {
    const now = Date.now();
    for (const s of [...this.sessions.values()]) {
      const vhost = this.resolveVhost(s.stream.vhost);
      const timeoutMs = (vhost?.rtc.stunTimeout ?? 30) * 1000;
      if (now - s.lastSeen > timeoutMs) {
        s.close(`timeout: no STUN or media for ${timeoutMs / 1000}s`);
        continue;
      }
      s.tick(now);
    }
    if (now - this.statsAt >= STATS_PERIOD_MS) {
      this.statsAt = now;
      void this.printStats();
    }
  }

  /** This socket's drops column in /proc/net/udp (cumulative), or undefined when unreadable. */
  private async readKernelDrops(): Promise<number | undefined> {
    try {
      const socks = await readUdpSockets(hostRoot());
      const mine = socks.filter((s) => s.family === 'udp' && s.local.endsWith(`:${this.counters.port}`) && s.remote.startsWith('0.0.0.0:'));
      if (mine.length === 0) return undefined;
      return mine.reduce((a, s) => a + s.drops, 0);
    } catch {
      return undefined;
    }
  }

  /** Refreshes the kernel drop count; called by the periodic stats and by the API. */
  async refreshDrops(): Promise<void> {
    const d = await this.readKernelDrops();
    if (d !== undefined) this.counters.recvDrops = d - (this.kernelDropsAtOpen ?? 0);
  }

  private async printStats(): Promise<void> {
    await this.refreshDrops();
    if (this.sessions.size === 0 && this.counters.recvDrops === this.last.drops && this.counters.sendErrors === this.last.sendErrors) return;
    const c = this.counters;
    const r = c.recvDrops - this.last.drops;
    const s = c.sendErrors - this.last.sendErrors;
    const pr = c.recvPackets - this.last.recv;
    const ps = c.sendPackets - this.last.send;
    const bad = c.bad - this.last.bad;
    const replayed = c.replayed - this.last.replayed;
    this.last = { drops: c.recvDrops, sendErrors: c.sendErrors, recv: c.recvPackets, send: c.sendPackets, bad: c.bad, replayed: c.replayed };
    const secs = STATS_PERIOD_MS / 1000;
    this.log.trace(`RTC: Server conns=${this.sessions.size}, rpkts=(${Math.round(pr / secs)}), spkts=(${Math.round(ps / secs)}), bad=${bad}, replay=${replayed}, loss=(r:${r},s:${s})`);
  }

  // ------------------------------------------------------------------ sessions

  private stream(vhost: string, app: string, name: string): RtcStream {
    const key = `${vhost}/${app}/${name}`;
    let s = this.streams.get(key);
    if (!s) {
      s = new RtcStream(`vid-${randomBytes(4).toString('hex').slice(0, 7)}`, vhost, app, name, this);
      this.streams.set(key, s);
    }
    return s;
  }

  /** called when an idle stream is dropped (the stats keep its bytes in the vhost's totals) */
  onStreamGone: ((stream: RtcStream) => void) | undefined;

  release(stream: RtcStream): void {
    if (this.streams.get(stream.key) === stream && stream.idle) {
      this.streams.delete(stream.key);
      this.onStreamGone?.(stream);
    }
  }

  /** The candidates for an answer: the configured ones, plus the API's host when it is an IP and candidate is `*` (SRS's api_as_candidates). */
  private answerCandidates(apiHost: string | undefined): Array<{ ip: string; port: number }> {
    const ips = [...this.candidates];
    if (this.config.rtcServer.candidate === '*' && apiHost) {
      const h = apiHost.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
      const ip = h === 'localhost' ? '127.0.0.1' : h;
      if (net.isIPv4(ip) && !ips.includes(ip)) ips.unshift(ip);
    }
    return ips.map((ip) => ({ ip, port: this.counters.port }));
  }

  /**
   * Answers an offer: a publisher (WHIP, /rtc/v1/publish/) or a player (WHEP, /rtc/v1/play/) of
   * vhost/app/stream. Throws RtcError.
   */
  createSession(role: RtcRole, vhostName: string | undefined, app: string, name: string, offerText: string, info: { ip?: string; apiHost?: string } = {}): CreateSessionResult {
    if (!this.socket || !this.cert) throw new RtcError(RtcErrorCode.disabled, 503, 'rtc_server is not enabled');
    const vhost = this.resolveVhost(vhostName);
    if (!vhost) throw new RtcError(2014, 404, `no vhost ${vhostName ?? '__defaultVhost__'}`);
    if (!vhost.rtc.enabled) throw new RtcError(RtcErrorCode.disabled, 403, `rtc is not enabled in vhost ${vhost.name} (vhost ${vhost.name} { rtc { enabled on; } })`);
    if (!app || !name) throw new RtcError(RtcErrorCode.sdpExchange, 400, 'app and stream are required');
    let offer;
    try {
      offer = parseSdp(offerText);
    } catch (err) {
      if (err instanceof SdpError) throw new RtcError(RtcErrorCode.sdpDecode, 400, `bad SDP offer: ${err.message}`);
      throw err;
    }
    const stream = this.stream(vhost.name, app, name);
    if (role === 'publish' && stream.publisherId !== undefined) {
      this.release(stream);
      throw new RtcError(RtcErrorCode.streamBusy, 409, `stream ${stream.key} is already published`);
    }
    const media: AnswerMedia[] = [];
    const tracks: RtcSessionTrack[] = [];
    const seen = new Set<RtcMediaKind>();
    const id = randomBytes(4).toString('hex');
    for (const m of offer.media) {
      const kind = m.kind === 'audio' || m.kind === 'video' ? m.kind : undefined;
      const wantDir = role === 'publish' ? ['sendonly', 'sendrecv'] : ['recvonly', 'sendrecv'];
      const codec = kind && !seen.has(kind) && wantDir.includes(m.direction) && m.port !== 0 ? this.pickCodec(kind, m, role, stream) : undefined;
      if (!kind || !codec) {
        media.push({ offered: m, direction: 'inactive' });
        continue;
      }
      seen.add(kind);
      const primary = m.ssrcs.find((s) => !m.secondarySsrcs.includes(s)) ?? 0;
      const ssrc = role === 'play' ? stream.outSsrc[kind] : primary;
      tracks.push({ kind, pt: codec.pt, codec: codec.name, clockRate: codec.clockRate, ssrc, mid: m.mid });
      media.push({
        offered: m,
        codec,
        direction: role === 'publish' ? 'recvonly' : 'sendonly',
        send: role === 'play' ? { ssrc, cname: `srsx-${stream.id}`, streamId: `${app}/${name}`, trackId: `${kind}-${id}` } : undefined,
      });
    }
    if (tracks.length === 0) {
      this.release(stream);
      throw new RtcError(RtcErrorCode.sdpExchange, 400, `no usable media in the offer (${role === 'publish' ? 'sendonly' : 'recvonly'} H.264 packetization-mode 1, VP8 or Opus)`);
    }
    const remoteUfrag = offer.media[0]!.iceUfrag!;
    const setup = answerSetup(offer.media[0]!.setup);
    const session = new RtcSession(id, role, stream, remoteUfrag, tracks, this.cert, this, vhost.rtc.nack, offer.media[0]!.fingerprint, setup === 'active' ? 'client' : 'server');
    if (role === 'publish') {
      stream.startPublish(id, 'whip', tracks.map((t) => {
        const m = media.find((x) => x.codec && x.offered.mid === t.mid)!;
        const info: RtcTrackInfo = { kind: t.kind, codec: t.codec, payloadType: t.pt, clockRate: t.clockRate, ssrc: t.ssrc };
        if (m.codec!.channels) info.channels = m.codec!.channels;
        if (m.codec!.fmtp) info.fmtp = m.codec!.fmtp;
        return info;
      }));
    }
    const answer = buildAnswer({
      iceUfrag: session.localUfrag,
      icePwd: session.localPwd,
      fingerprint: this.cert.fingerprint,
      candidates: this.answerCandidates(info.apiHost),
      sessionId: String(Date.now()),
      sessionName: role === 'publish' ? 'SRSXPublishSession' : 'SRSXPlaySession',
      media,
      setup,
    });
    this.sessions.set(id, session);
    this.byUsername.set(session.usernameKey, session);
    this.clients.add({
      id,
      type: role === 'publish' ? 'rtc-publish' : 'rtc-play',
      ip: info.ip ?? '',
      port: 0,
      connectedAt: session.createdAt,
      vhost: vhost.name,
      app,
      streamName: name,
      streamId: stream.id,
      tcUrl: `webrtc://${info.apiHost ?? '127.0.0.1'}/${app}`,
      bytesRead: () => session.bytesIn,
      bytesWritten: () => session.bytesOut,
      kick: () => session.close('kicked by the API'),
    });
    this.clients.totalAccepted++;
    this.log.trace(`RTC: ${role} session ${id} of ${stream.key}, username ${session.usernameKey}, ${tracks.map((t) => `${t.kind}=${t.codec}/${t.pt}`).join(' ')}`, id);
    return { session, answer };
  }

  private pickCodec(kind: RtcMediaKind, m: SdpMedia, role: RtcRole, stream: RtcStream): SdpCodec | undefined {
    const byName = (n: string) => m.codecs.find((c) => c.name.toLowerCase() === n);
    if (kind === 'audio') {
      const src = role === 'play' ? stream.track('audio') : undefined;
      if (src && src.codec.toLowerCase() !== 'opus') return byName(src.codec.toLowerCase());
      return byName('opus');
    }
    const src = role === 'play' ? stream.track('video') : undefined;
    if (src) {
      if (src.codec.toUpperCase() === 'H264') {
        const pli = /profile-level-id=([0-9a-fA-F]{6})/.exec(src.fmtp ?? '')?.[1];
        return pickH264(m.codecs, pli ?? '42e01f');
      }
      return byName(src.codec.toLowerCase());
    }
    return pickH264(m.codecs, '42e01f', { mode0: role === 'publish' }) ?? byName('vp8');
  }

  find(id: string): RtcSession | undefined {
    return this.sessions.get(id) ?? this.byUsername.get(id);
  }

  /** RtcSessionHost: a session ended. */
  closed(session: RtcSession, reason: string): void {
    if (!this.sessions.delete(session.id)) return;
    this.byUsername.delete(session.usernameKey);
    if (session.addrKey && this.byAddr.get(session.addrKey) === session) this.byAddr.delete(session.addrKey);
    this.clients.remove(session.id);
    const stream = session.stream;
    if (session.role === 'publish' && stream.publisherId === session.id) stream.stopPublish();
    this.release(stream);
    const replays = session.replayed ? ` (${session.replayed} replayed SRTP/SRTCP packets dropped)` : '';
    this.log.trace(`RTC: ${session.role} session ${session.id} of ${stream.key} closed: ${reason}${replays}`, session.id);
  }

  /** RtcSessionHost: a WHIP publisher's DTLS is up. */
  published(session: RtcSession): void {
    const s = session.stream;
    for (const l of this.listeners) {
      try {
        l(s, s.vhost, s.app, s.name);
      } catch (err) {
        this.log.warn(`RTC: publish listener failed for ${s.key}: ${(err as Error).message}`);
      }
    }
  }

  // ------------------------------------------------------------------ RtcStreamHub (bridges)

  publish(vhost: string, app: string, stream: string, tracks: RtcTrackInfo[]): RtcStreamPort | undefined {
    const s = this.stream(vhost, app, stream);
    if (s.publisherId !== undefined) return undefined;
    s.startPublish(`bridge-${randomBytes(3).toString('hex')}`, 'bridge', tracks);
    return s;
  }

  unpublish(port: RtcStreamPort): void {
    const s = this.streams.get(port.key);
    if (s && s === port && s.publisherKind === 'bridge') s.stopPublish();
  }

  addPublishListener(listener: (port: RtcStreamPort, vhost: string, app: string, stream: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The stream a bridge or test can look at. */
  findStream(vhost: string, app: string, stream: string): RtcStream | undefined {
    return this.streams.get(`${vhost}/${app}/${stream}`);
  }

  // ------------------------------------------------------------------ stats

  allStreams(): RtcStream[] {
    return [...this.streams.values()];
  }

  allSessions(): RtcSession[] {
    return [...this.sessions.values()];
  }

  streamStats(players: (s: RtcStream) => number): StreamStats[] {
    return this.allStreams().map((s) => {
      const v = s.track('video');
      const a = s.track('audio');
      const pli = /profile-level-id=([0-9a-fA-F]{6})/.exec(v?.fmtp ?? '')?.[1];
      return {
        id: s.id,
        vhost: s.vhost,
        app: s.app,
        name: s.name,
        tcUrl: `webrtc://127.0.0.1/${s.app}`,
        createdAt: s.createdAt,
        publisherId: s.publisherId,
        players: players(s),
        frames: s.frames,
        sendBytes: s.sendBytes,
        recvBytes: s.recvBytes,
        recvKbps30s: 0,
        sendKbps30s: 0,
        video: v ? { codec: v.codec, profile: pli ? H264_PROFILES[parseInt(pli.slice(0, 2), 16)] : undefined, level: pli ? String(parseInt(pli.slice(4), 16) / 10) : undefined } : undefined,
        audio: a ? { codec: a.codec === 'opus' ? 'Opus' : a.codec, sampleRate: a.clockRate, channels: a.channels ?? 1 } : undefined,
        audioUnavailable: s.audioUnavailable,
      };
    });
  }

  clientStats(): ClientStats[] {
    return [];
  }
}

const H264_PROFILES: Record<number, string> = { 0x42: 'Baseline', 0x4d: 'Main', 0x58: 'Extended', 0x64: 'High' };

/** `*` → this host's IPv4 interface addresses (non-internal first, loopback when there is nothing else). */
export function resolveCandidates(candidate: string): string[] {
  if (candidate !== '*') return candidate.split(/[\s,]+/).filter(Boolean);
  const out: string[] = [];
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out.length ? out : ['127.0.0.1'];
}
