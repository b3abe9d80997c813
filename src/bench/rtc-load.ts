/**
 * n WHEP players of one stream in this process, as cheap as srs-bench's sb_rtc players: each one
 * posts a recvonly offer (Opus + H.264, BUNDLE, rtcp-mux), runs ICE against the server's ICE-lite
 * candidate (STUN Binding requests with USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT), the DTLS
 * client handshake (werift-dtls), then counts RTP packets, bytes and sequence gaps per SSRC from the
 * RTP headers, which SRTP leaves in clear (no decryption; the auth tag of a sample is checked).
 */
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import dtls from 'werift-dtls/lib/dtls/src/index.js';
import { bindingRequest, parseStun, StunType, verifyIntegrity } from '../protocol/rtc/stun.js';
import { SrtpContext } from '../protocol/rtc/srtp.js';
import { createCertificate, type DtlsCertificate } from '../server/rtc/dtls.js';

const { DtlsClient } = dtls;
type DtlsClientT = InstanceType<typeof DtlsClient>;
const SHA256 = 4;
const ECDSA = 3;
const SRTP_AES128_CM_HMAC_SHA1_80 = 1;

export interface RtcLoadOptions {
  /** whep://host:port/app/stream or http://host:port/rtc/v1/whep/?app=&stream= */
  url: string;
  clients: number;
  durationMs: number;
  /** new players per second */
  rampPerSecond: number;
  reportEveryMs: number;
  /** check the SRTP auth tag of every Nth packet per player (0: never); default 50 */
  verifyEvery?: number;
  /** a player not connected (DTLS done) within this is failed; default 10 s */
  connectTimeoutMs?: number;
  /** announce this a=fingerprint instead of the players' certificate's (tests the server's check) */
  offerFingerprint?: string;
  /** steadyKbps is measured from this long after the last player started; default 0 */
  settleMs?: number;
  onReport?: (r: RtcLoadReport) => void;
}

export interface RtcLoadReport {
  elapsedS: number;
  clients: number;
  started: number;
  /** DTLS done */
  connected: number;
  /** got at least one RTP packet */
  receiving: number;
  failed: number;
  packets: number;
  bytes: number;
  kbps: number;
  /** sequence gaps over expected packets, all players and SSRCs, % */
  lossPercent: number;
  cpuPercent: number;
}

export interface RtcLoadSummary extends RtcLoadReport {
  url: string;
  durationS: number;
  /** mean kbps per receiving player over the whole run */
  kbpsPerPlayer: number;
  /** all players' kbps from --settle after the ramp to the end (0 when that window is empty) */
  steadyKbps: number;
  lost: number;
  expected: number;
  /** SRTP auth tags checked / failed */
  verified: number;
  verifyFailed: number;
  /** connect time (offer to DTLS done) */
  connectP50Ms: number;
  connectP95Ms: number;
  errors: Record<string, number>;
}

/** whep://host:port/app/stream -> the WHEP endpoint over HTTP; http(s) URLs pass through. */
export function whepEndpoint(url: string): string {
  const m = /^whep:\/\/([^/]+)\/([^/?]+)\/([^/?]+)$/.exec(url);
  if (m) return `http://${m[1]}/rtc/v1/whep/?app=${encodeURIComponent(m[2]!)}&stream=${encodeURIComponent(m[3]!)}`;
  if (/^https?:\/\//.test(url)) return url;
  throw new Error(`'${url}' is not a whep://host:port/app/stream or http:// WHEP URL`);
}

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function iceString(n: number): string {
  const b = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ICE_CHARS[b[i]! % ICE_CHARS.length];
  return s;
}

/** A browser-like recvonly offer: Opus (mid 0) and H.264 baseline (mid 1), BUNDLE, rtcp-mux. */
export function playerOffer(ufrag: string, pwd: string, fingerprint: string): string {
  const common = [
    'c=IN IP4 0.0.0.0',
    'a=rtcp:9 IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`,
    `a=ice-pwd:${pwd}`,
    `a=fingerprint:${fingerprint}`,
    'a=setup:active',
  ];
  return [
    'v=0',
    `o=- ${Date.now()} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0 1',
    'a=msid-semantic: WMS',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111',
    ...common,
    'a=mid:0',
    'a=recvonly',
    'a=rtcp-mux',
    'a=rtpmap:111 opus/48000/2',
    'a=rtcp-fb:111 transport-cc',
    'a=fmtp:111 minptime=10;useinbandfec=1',
    'm=video 9 UDP/TLS/RTP/SAVPF 106',
    ...common,
    'a=mid:1',
    'a=recvonly',
    'a=rtcp-mux',
    'a=rtcp-rsize',
    'a=rtpmap:106 H264/90000',
    'a=rtcp-fb:106 nack',
    'a=rtcp-fb:106 nack pli',
    'a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
    '',
  ].join('\r\n');
}

export interface AnswerFacts {
  ufrag: string;
  pwd: string;
  ip: string;
  port: number;
}

/** The ICE facts of an answer: ice-ufrag, ice-pwd and the first UDP IPv4 host candidate. */
export function answerFacts(sdp: string): AnswerFacts {
  const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
  const pwd = /^a=ice-pwd:(\S+)/m.exec(sdp)?.[1];
  const cand = /^a=candidate:\S+ 1 udp \d+ (\d+\.\d+\.\d+\.\d+) (\d+) typ host/im.exec(sdp);
  if (!ufrag || !pwd) throw new Error('the answer has no ice-ufrag/ice-pwd');
  if (!cand) throw new Error('the answer has no IPv4 UDP host candidate');
  return { ufrag, pwd, ip: cand[1]!, port: Number(cand[2]) };
}

/** Per-SSRC receive state: extended highest sequence number, first one, packets. */
interface SsrcStats {
  first: number;
  highest: number;
  packets: number;
}

class RtcPlayer {
  readonly socket = dgram.createSocket('udp4');
  readonly ufrag = iceString(8);
  readonly pwd = iceString(24);
  state: 'new' | 'ice' | 'dtls' | 'connected' | 'failed' | 'closed' = 'new';
  packets = 0;
  bytes = 0;
  verified = 0;
  verifyFailed = 0;
  connectMs = 0;
  readonly ssrcs = new Map<number, SsrcStats>();
  private remote!: AnswerFacts;
  private location?: string;
  private client?: DtlsClientT;
  private transport?: { onData: (d: Buffer, a: unknown) => void; closed: boolean };
  private srtp?: SrtpContext;
  private stunTimer?: NodeJS.Timeout;
  private readonly t0 = Date.now();

  constructor(
    private readonly endpoint: string,
    private readonly cert: DtlsCertificate,
    private readonly verifyEvery: number,
    private readonly onFail: (why: string) => void,
    private readonly offerFingerprint = cert.fingerprint,
  ) {}

  async start(timeoutMs: number): Promise<void> {
    const timer = setTimeout(() => this.fail(`not connected within ${timeoutMs} ms (stuck in ${this.state}${this.dtlsError ? `, DTLS: ${this.dtlsError}` : ''})`), timeoutMs);
    try {
      await new Promise<void>((resolve, reject) => {
        this.socket.once('error', reject);
        this.socket.bind(0, '127.0.0.1', () => resolve());
      });
      this.socket.on('error', (e) => this.fail(`socket: ${e.message}`));
      this.socket.on('message', (m) => this.onMessage(m));
      const res = await fetch(this.endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: playerOffer(this.ufrag, this.pwd, this.offerFingerprint), signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      if (res.status !== 201 && res.status !== 200) throw new Error(`WHEP HTTP ${res.status}: ${text.slice(0, 120).replace(/\s+/g, ' ')}`);
      const loc = res.headers.get('location');
      if (loc) this.location = new URL(loc, this.endpoint).toString();
      this.remote = answerFacts(text);
      if (this.state !== 'new') return; // failed (timeout) meanwhile
      this.state = 'ice';
      this.sendBinding();
      // ICE checks every 50 ms until answered, then a consent check every 1 s
      this.stunTimer = setInterval(() => this.sendBinding(), 50);
    } catch (e) {
      this.fail((e as Error).message);
    } finally {
      // the connect deadline stays armed until DTLS completes
      if (this.state === 'connected' || this.state === 'failed') clearTimeout(timer);
      else this.connectTimer = timer;
    }
  }
  private connectTimer?: NodeJS.Timeout;
  private dtlsError = '';

  private sendBinding(): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    const req = bindingRequest(randomBytes(12), `${this.remote.ufrag}:${this.ufrag}`, this.remote.pwd, true);
    this.send(req);
  }

  private send(buf: Buffer): void {
    this.socket.send(buf, this.remote.port, this.remote.ip);
  }

  private onMessage(m: Buffer): void {
    const b = m[0]!;
    if (b >= 128 && b < 192) {
      if (m.length < 12) return;
      const pt = m[1]!;
      if (pt >= 192 && pt <= 223) return; // RTCP (SR, SDES...): not counted
      this.countRtp(m);
    } else if (b >= 20 && b < 64) {
      this.transport?.onData(m, undefined);
    } else if (b < 4) {
      const msg = parseStun(m);
      if (!msg || msg.type !== StunType.bindingSuccess) return;
      if (!verifyIntegrity(m, msg, this.remote.pwd)) return;
      if (this.state === 'ice') {
        this.state = 'dtls';
        clearInterval(this.stunTimer);
        this.stunTimer = setInterval(() => this.sendBinding(), 1000);
        this.startDtls();
      }
    }
  }

  private countRtp(m: Buffer): void {
    this.packets++;
    this.bytes += m.length;
    const ssrc = m.readUInt32BE(8);
    const seq = m.readUInt16BE(2);
    let s = this.ssrcs.get(ssrc);
    if (!s) {
      s = { first: seq, highest: seq, packets: 0 };
      this.ssrcs.set(ssrc, s);
    } else {
      // extend the 16-bit number next to the highest one seen
      const delta = ((seq - (s.highest & 0xffff) + 0x8000) & 0xffff) - 0x8000;
      if (delta > 0) s.highest += delta;
      else if (s.highest + delta < s.first) s.first = s.highest + delta; // reordered before the first
    }
    s.packets++;
    if (this.srtp && this.verifyEvery > 0 && this.packets % this.verifyEvery === 1) {
      // unprotect checks the HMAC-SHA1-80 tag (and decrypts the copy)
      if (this.srtp.unprotectRtp(Buffer.from(m))) this.verified++;
      else this.verifyFailed++;
    }
  }

  private startDtls(): void {
    const transport = {
      type: 'udp',
      address: { address: this.remote.ip, port: this.remote.port, family: 'IPv4' },
      closed: false,
      onData: (_d: Buffer, _a: unknown) => undefined as void,
      send: async (data: Buffer) => {
        if (!transport.closed) this.send(data);
      },
      close: async () => {
        transport.closed = true;
      },
    };
    this.transport = transport;
    const client = new DtlsClient({
      transport: transport as never,
      cert: this.cert.certPem,
      key: this.cert.keyPem,
      signatureHash: { hash: SHA256, signature: ECDSA },
      srtpProfiles: [SRTP_AES128_CM_HMAC_SHA1_80],
      extendedMasterSecret: true,
      certificateRequest: true,
    });
    this.client = client;
    client.onConnect.subscribe(() => {
      if (this.state !== 'dtls') return;
      try {
        const k = client.extractSessionKeys(16, 14);
        if (this.verifyEvery > 0) this.srtp = new SrtpContext(Buffer.from(k.remoteKey), Buffer.from(k.remoteSalt));
      } catch (e) {
        return this.fail(`DTLS keys: ${(e as Error).message}`);
      }
      this.state = 'connected';
      this.connectMs = Date.now() - this.t0;
      clearTimeout(this.connectTimer);
    });
    // werift-dtls reports errors of handshake messages it handles twice (a flight retransmitted
    // while the first copy is being processed) and still completes: a handshake fails only at the
    // connect deadline, which names the last error
    client.onError.subscribe((e: Error) => {
      if (this.state === 'dtls') this.dtlsError = errorText(e);
    });
    client.connect().catch((e: Error) => {
      if (this.state === 'dtls') this.dtlsError = errorText(e);
    });
  }

  fail(why: string): void {
    if (this.state === 'failed' || this.state === 'closed' || this.state === 'connected') return;
    this.state = 'failed';
    this.onFail(why);
    this.shutdown();
  }

  private shutdown(): void {
    clearInterval(this.stunTimer);
    clearTimeout(this.connectTimer);
    if (this.transport) this.transport.closed = true;
    try {
      this.client?.close();
    } catch {
      /* closed */
    }
    try {
      this.socket.close();
    } catch {
      /* closed */
    }
  }

  /** Stops: WHEP DELETE (bounded, best effort), then the socket. */
  async close(): Promise<void> {
    const wasLive = this.state !== 'failed' && this.state !== 'closed';
    if (this.state !== 'failed') this.state = 'closed';
    this.shutdown();
    if (wasLive && this.location) await fetch(this.location, { method: 'DELETE', signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  }

  /** [expected, lost] over all SSRCs: the gaps between the first and highest sequence numbers. */
  loss(): [number, number] {
    let expected = 0;
    let lost = 0;
    for (const s of this.ssrcs.values()) {
      const e = s.highest - s.first + 1;
      expected += e;
      lost += Math.max(0, e - s.packets);
    }
    return [expected, lost];
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) return e.message || (e.stack?.split('\n')[1]?.trim() ?? e.name);
  return String(e);
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))]!;
}

/** Runs the players: ramped, reported every `reportEveryMs`, all closed after `durationMs`. */
export async function runRtcLoad(opts: RtcLoadOptions): Promise<RtcLoadSummary> {
  const endpoint = whepEndpoint(opts.url);
  const cert = await createCertificate();
  const verifyEvery = opts.verifyEvery ?? 50;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const errors: Record<string, number> = {};
  const players: RtcPlayer[] = [];
  const t0 = Date.now();
  let cpu0 = process.cpuUsage();
  let tick0 = t0;
  let bytes0 = 0;
  const rampGapMs = 1000 / opts.rampPerSecond;

  const snapshot = (): RtcLoadReport => {
    const now = Date.now();
    let connected = 0;
    let receiving = 0;
    let failed = 0;
    let packets = 0;
    let bytes = 0;
    let expected = 0;
    let lost = 0;
    for (const p of players) {
      if (p.state === 'connected' || (p.state === 'closed' && p.connectMs > 0)) connected++;
      if (p.state === 'failed') failed++;
      if (p.packets > 0) receiving++;
      packets += p.packets;
      bytes += p.bytes;
      const [e, l] = p.loss();
      expected += e;
      lost += l;
    }
    const cpu = process.cpuUsage(cpu0);
    const dt = Math.max(1, now - tick0);
    const r: RtcLoadReport = {
      elapsedS: (now - t0) / 1000,
      clients: opts.clients,
      started: players.length,
      connected,
      receiving,
      failed,
      packets,
      bytes,
      kbps: ((bytes - bytes0) * 8) / dt,
      lossPercent: expected > 0 ? (lost / expected) * 100 : 0,
      cpuPercent: ((cpu.user + cpu.system) / 1000 / dt) * 100,
    };
    cpu0 = process.cpuUsage();
    tick0 = now;
    bytes0 = bytes;
    return r;
  };

  const reporter = setInterval(() => opts.onReport?.(snapshot()), opts.reportEveryMs);
  const starts: Promise<void>[] = [];
  let steadyFrom: { at: number; bytes: number } | undefined;
  try {
    for (let i = 0; i < opts.clients && Date.now() - t0 < opts.durationMs; i++) {
      const p = new RtcPlayer(endpoint, cert, verifyEvery, (why) => {
        const key = why.replace(/\d+/g, 'N');
        errors[key] = (errors[key] ?? 0) + 1;
      }, opts.offerFingerprint);
      players.push(p);
      starts.push(p.start(connectTimeoutMs));
      const due = t0 + (i + 1) * rampGapMs;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const settleEnd = Date.now() + (opts.settleMs ?? 0);
    const endAt = t0 + opts.durationMs;
    if (settleEnd < endAt) {
      await new Promise((r) => setTimeout(r, settleEnd - Date.now()));
      steadyFrom = { at: Date.now(), bytes: players.reduce((n, p) => n + p.bytes, 0) };
    }
    const left = endAt - Date.now();
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  } finally {
    clearInterval(reporter);
  }
  const last = snapshot();
  const steadyKbps = steadyFrom ? ((last.bytes - steadyFrom.bytes) * 8) / Math.max(1, Date.now() - steadyFrom.at) : 0;
  await Promise.all(starts);
  const elapsedMs = Date.now() - t0;
  await Promise.all(players.map((p) => p.close()));
  let expected = 0;
  let lost = 0;
  let verified = 0;
  let verifyFailed = 0;
  for (const p of players) {
    const [e, l] = p.loss();
    expected += e;
    lost += l;
    verified += p.verified;
    verifyFailed += p.verifyFailed;
  }
  const connectMs = players.filter((p) => p.connectMs > 0).map((p) => p.connectMs).sort((a, b) => a - b);
  const totalKbps = (last.bytes * 8) / Math.max(1, elapsedMs);
  return {
    ...last,
    url: opts.url,
    durationS: elapsedMs / 1000,
    kbps: totalKbps,
    kbpsPerPlayer: last.receiving > 0 ? totalKbps / last.receiving : 0,
    steadyKbps,
    lost,
    expected,
    verified,
    verifyFailed,
    connectP50Ms: pct(connectMs, 0.5),
    connectP95Ms: pct(connectMs, 0.95),
    errors,
  };
}
