// srsx as the DTLS client (the offer was a=setup:passive): its DtlsEndpoint against werift-dtls's DtlsServer
// as the peer, in memory. The handshake completes, both sides export the same SRTP keys crosswise, and a
// server certificate that does not hash to the offer's a=fingerprint fails the session; a hostile server's
// corrupted flights end each handshake without an exception escaping (test/helpers/dtls-client-fuzz.mjs).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import dtls from 'werift-dtls/lib/dtls/src/index.js';
import { createCertificate, DtlsEndpoint, type DtlsCertificate, type SrtpKeys } from '../../src/server/rtc/dtls.js';
import { REPO } from '../helpers/env.js';

const { DtlsServer } = dtls;

interface Outcome {
  ours?: SrtpKeys;
  peers?: { localKey: Buffer; remoteKey: Buffer };
  failed?: string;
}

/** Runs one handshake: our client, werift's server with `peerCert`; `offered` is the offer's a=fingerprint. */
function handshake(ours: DtlsCertificate, peerCert: DtlsCertificate, offered: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = {};
    const transport = {
      type: 'udp',
      address: {},
      closed: false,
      onData: (_d: Buffer) => undefined,
      send: async (d: Buffer) => void setImmediate(() => endpoint.receive(Buffer.from(d))),
      close: async () => undefined,
    };
    const peer = new DtlsServer({
      transport: transport as never,
      cert: peerCert.certPem,
      key: peerCert.keyPem,
      signatureHash: { hash: 4, signature: 3 },
      srtpProfiles: [1],
      extendedMasterSecret: true,
      certificateRequest: true,
    });
    const done = () => {
      if ((out.ours && out.peers) || out.failed) {
        clearTimeout(timer);
        endpoint.close();
        peer.close();
        resolve(out);
      }
    };
    peer.onConnect.subscribe(() => {
      const k = peer.extractSessionKeys(16, 14);
      out.peers = { localKey: Buffer.from(k.localKey), remoteKey: Buffer.from(k.remoteKey) };
      done();
    });
    const endpoint = new DtlsEndpoint(ours, {
      send: (b) => setImmediate(() => transport.onData(b)),
      connected: (keys) => ((out.ours = keys), done()),
      failed: (err) => ((out.failed = err.message), done()),
      closed: () => undefined,
    }, offered, 'client');
    const timer = setTimeout(() => ((out.failed = 'no outcome in 10 s'), done()), 10_000);
  });
}

describe('DTLS client role (srsx answers a=setup:active)', () => {
  let ours: DtlsCertificate;
  let peer: DtlsCertificate;
  beforeAll(async () => {
    ours = await createCertificate();
    peer = await createCertificate();
  });

  it('sends the ClientHello itself, completes against a DTLS server, and derives the keys crosswise', async () => {
    const r = await handshake(ours, peer, peer.fingerprint);
    expect(r.failed).toBeUndefined();
    // RFC 5764 §4.2: the client's write key is the server's read key, and the other way round
    expect(r.ours!.localKey.equals(r.peers!.remoteKey)).toBe(true);
    expect(r.ours!.remoteKey.equals(r.peers!.localKey)).toBe(true);
    expect(r.ours!.localKey.equals(r.ours!.remoteKey)).toBe(false);
  }, 15_000);

  it("fails when the server's certificate does not hash to the offer's a=fingerprint", async () => {
    const other = await createCertificate();
    const r = await handshake(ours, peer, other.fingerprint);
    expect(r.ours).toBeUndefined();
    expect(r.failed).toMatch(/does not match the offer's a=fingerprint/);
  }, 15_000);

  it('a hostile server (its flights corrupted at random) ends each handshake in failure or success, nothing escapes', async () => {
    // in a child process: werift's retransmission timers outlive a failed handshake by up to ~30 s, and an
    // exception or rejection escaping there must be seen (the child counts process-level escapes)
    const r = spawnSync(process.execPath, [path.join(REPO, 'test/helpers/dtls-client-fuzz.mjs'), '40'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { escaped: string[]; outcomes: Record<string, number>; unexplained: number };
    expect(out.escaped).toEqual([]);
    expect(out.unexplained).toBe(0);
    const total = Object.values(out.outcomes).reduce((a, b) => a + b, 0);
    expect(total).toBe(40);
    // most corrupted handshakes fail on their own (a fatal alert, a parse error, the retransmissions running out)
    expect(total - (out.outcomes.timeout ?? 0)).toBeGreaterThan(10);
  }, 90_000);
});
