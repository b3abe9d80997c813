/**
 * DTLS-SRTP over the shared UDP port, with werift-dtls (0.5.x): one self-signed ECDSA P-256 certificate
 * per server (its SHA-256 fingerprint goes in every answer), one DtlsServer per session, or a DtlsClient
 * when the offer said a=setup:passive (the peer is the DTLS server, as FFmpeg's WHIP muxer is: RFC 5763
 * §5, SRS answers such an offer with a=setup:active), fed through a custom transport (the session's
 * datagrams in, socket.send to the peer out). After the handshake the SRTP master keys are exported
 * (RFC 5764: client write key/salt, server write key/salt; werift gives them as local and remote).
 */
import { createHash, X509Certificate } from 'node:crypto';
import dtls from 'werift-dtls/lib/dtls/src/index.js';
import { ALERT_ILLEGAL_PARAMETER, alertRecord, badHandshakeRecord, packRecords, renumberEpoch0, type Epoch0Counter } from '../../protocol/rtc/dtls-record.js';

const { CipherContext, DtlsClient, DtlsServer } = dtls;
type DtlsSocketT = InstanceType<typeof DtlsServer> | InstanceType<typeof DtlsClient>;

/** Our side of the handshake: 'server' answers a=setup:passive (the peer starts), 'client' a=setup:active (we start). */
export type DtlsRole = 'server' | 'client';

/** werift-dtls constants (HashAlgorithm.sha256_4, SignatureAlgorithm.ecdsa_3, NamedCurve secp256r1_23, SRTP profile 1) */
const SHA256 = 4 as const;
const ECDSA = 3 as const;
const SECP256R1 = 23;
const SRTP_AES128_CM_HMAC_SHA1_80 = 1 as const;
/** largest datagram of packed handshake records (what fits a 1280-byte IPv6 minimum MTU with headers) */
const DATAGRAM_MAX = 1200;

export interface DtlsCertificate {
  certPem: string;
  keyPem: string;
  /** 'sha-256 AB:CD:...' for a=fingerprint */
  fingerprint: string;
}

export async function createCertificate(): Promise<DtlsCertificate> {
  const { certPem, keyPem } = await CipherContext.createSelfSignedCertificateWithKey({ hash: SHA256, signature: ECDSA }, SECP256R1);
  const fp = new X509Certificate(certPem).fingerprint256;
  return { certPem, keyPem, fingerprint: `sha-256 ${fp}` };
}

/** hash names of a=fingerprint (RFC 8122) that node:crypto knows */
const FINGERPRINT_HASHES: Record<string, string> = { 'sha-1': 'sha1', 'sha-224': 'sha224', 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' };

/** 'AB:CD:…' of a DER certificate under an a=fingerprint hash name, or undefined for an unknown hash. */
export function certificateFingerprint(der: Buffer, hash: string): string | undefined {
  const algo = FINGERPRINT_HASHES[hash.toLowerCase()];
  if (!algo) return undefined;
  return createHash(algo).update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

/** Throws when the peer's certificate is missing or does not hash to the offer's fingerprint. */
export function checkPeerFingerprint(der: Buffer | undefined, offered: string): void {
  const [hash = '', value = ''] = offered.trim().split(/\s+/);
  if (!der || der.length === 0) throw new Error('the peer sent no DTLS certificate (the offer has a=fingerprint)');
  const actual = certificateFingerprint(der, hash);
  if (actual === undefined) throw new Error(`the offer's a=fingerprint uses an unknown hash '${hash}'`);
  if (actual !== value.toUpperCase()) throw new Error(`the peer's DTLS certificate does not match the offer's a=fingerprint (${hash} ${actual}, offered ${value})`);
}

export interface SrtpKeys {
  localKey: Buffer;
  localSalt: Buffer;
  remoteKey: Buffer;
  remoteSalt: Buffer;
}

export interface DtlsEvents {
  send(buf: Buffer): void;
  connected(keys: SrtpKeys): void;
  failed(err: Error): void;
  closed(): void;
}

/** werift rejects some waits with undefined or an empty Error: a failure always carries a message. */
function asError(err: unknown): Error {
  if (err instanceof Error && err.message) return err;
  const text = err instanceof Error || err === undefined ? '' : String(err);
  return new Error(text || 'the handshake did not complete (werift-dtls gave no reason)');
}

/** One session's DTLS endpoint, server or client. */
export class DtlsEndpoint {
  private readonly server: DtlsSocketT;
  private readonly transport: {
    type: string;
    address: { address: string; port: number; family: string };
    closed: boolean;
    onData: (data: Buffer, addr: unknown) => void;
    send: (data: Buffer) => Promise<void>;
    close: () => Promise<void>;
  };
  private done = false;
  /** our epoch-0 record numbers: werift reuses one per flight and resends flights unchanged (dtls-record.ts) */
  private readonly seq0: Epoch0Counter = { next: 0 };
  private readonly events: DtlsEvents;
  /** records werift sent in this turn of the event loop, sent as few datagrams (see flush) */
  private pending: Buffer[] = [];

  /**
   * @param peerFingerprint the offer's a=fingerprint ('sha-256 AB:CD:…'): the certificate the peer shows in
   *   the handshake must hash to it, or the session fails (RFC 8122 §5; SRS does not check, browsers do)
   * @param role 'client' sends the ClientHello at once (call it when the peer's address is known: after its
   *   first STUN binding request, as SRS starts its active handshake)
   */
  constructor(cert: DtlsCertificate, events: DtlsEvents, peerFingerprint?: string, role: DtlsRole = 'server') {
    this.events = events;
    this.transport = {
      type: 'udp',
      address: { address: '0.0.0.0', port: 0, family: 'IPv4' },
      closed: false,
      onData: () => undefined,
      send: async (data: Buffer) => {
        if (this.transport.closed) return;
        const out = Buffer.from(data);
        renumberEpoch0(out, this.seq0);
        if (this.pending.push(out) === 1) setImmediate(() => this.flush());
      },
      close: async () => {
        this.transport.closed = true;
      },
    };
    const options = {
      transport: this.transport as never,
      cert: cert.certPem,
      key: cert.keyPem,
      signatureHash: { hash: SHA256, signature: ECDSA },
      srtpProfiles: [SRTP_AES128_CM_HMAC_SHA1_80],
      extendedMasterSecret: true,
      // server: ask for the peer's certificate (its fingerprint is checked); client: werift waits for a
      // CertificateRequest when this is set, and not every server sends one (werift's does not)
      certificateRequest: role === 'server',
    };
    this.server = role === 'client' ? new DtlsClient(options) : new DtlsServer(options);
    this.server.onConnect.subscribe(() => {
      if (this.done) return;
      this.done = true;
      try {
        if (this.server.srtp.srtpProfile !== SRTP_AES128_CM_HMAC_SHA1_80) throw new Error('the peer offered no SRTP_AES128_CM_HMAC_SHA1_80');
        if (peerFingerprint) checkPeerFingerprint(this.server.remoteCertificate as Buffer | undefined, peerFingerprint);
        const k = this.server.extractSessionKeys(16, 14);
        events.connected({ localKey: Buffer.from(k.localKey), localSalt: Buffer.from(k.localSalt), remoteKey: Buffer.from(k.remoteKey), remoteSalt: Buffer.from(k.remoteSalt) });
      } catch (err) {
        events.failed(err as Error);
      }
    });
    this.server.onError.subscribe((err: unknown) => {
      if (!this.done) events.failed(asError(err));
    });
    this.server.onClose.subscribe(() => events.closed());
    if (this.server instanceof DtlsClient) {
      this.server.connect().catch((err: unknown) => {
        if (!this.done && !this.transport.closed) events.failed(asError(err));
      });
    }
  }

  /**
   * werift-dtls sends each record of a flight as a datagram of its own; OpenSSL (SRS) and browsers pack a
   * flight's records into datagrams up to the MTU. Packed, a flight is one or two datagrams (fewer to lose,
   * and srs-bench's corruption of a client's Certificate finds that record first, not ours).
   */
  private flush(): void {
    const records = this.pending;
    this.pending = [];
    if (this.transport.closed) return;
    for (const d of packRecords(records, DATAGRAM_MAX)) this.events.send(d);
  }

  /** A DTLS datagram from the peer. */
  receive(buf: Buffer): void {
    if (this.transport.closed) return;
    // a handshake message whose lengths contradict each other ends the handshake with a fatal alert, as
    // OpenSSL (SRS) does; werift-dtls would wait for the peer's retransmissions instead
    const bad = this.done ? undefined : badHandshakeRecord(buf);
    if (bad) {
      this.events.send(alertRecord(ALERT_ILLEGAL_PARAMETER, this.seq0.next++));
      this.done = true;
      this.events.failed(new Error(`malformed handshake from the peer (${bad}), sent a fatal illegal_parameter alert`));
      return;
    }
    try {
      this.transport.onData(buf, undefined);
    } catch {
      // a malformed record: werift throws synchronously for some; the caller counts it
      throw new Error('malformed DTLS record');
    }
  }

  close(): void {
    if (this.transport.closed) return;
    try {
      this.server.close();
    } catch {
      /* already closed */
    }
    this.transport.closed = true;
    // werift keeps resending an unanswered flight (up to 10 times, ~33 s) with nothing to cancel it; a flight
    // ends when the handshake has moved past it, so mark it past every flight: the loop ends at its next wakeup
    const state = (this.server as unknown as { dtls?: { flight: number } }).dtls;
    if (state) state.flight = Number.MAX_SAFE_INTEGER;
  }
}
