// srsx's DTLS client endpoint (dist/, built by `npm test`) against werift-dtls's DtlsServer whose handshake
// datagrams are corrupted at random (1-4 bytes of 70% of them): a hostile peer that answered an offer of
// a=setup:passive. Run as a child of test/unit/rtc-dtls-client.test.ts, so that werift's retransmission
// timers, which outlive a failed handshake, stay out of jest, and so that an exception or a rejection that
// escapes is seen by this process's own listeners. Prints one JSON line: the outcomes, and what escaped.
import dtls from 'werift-dtls/lib/dtls/src/index.js';
import { createCertificate, DtlsEndpoint } from '../../dist/server/rtc/dtls.js';

const { DtlsServer } = dtls;
const N = Number(process.argv[2] ?? 40);
const escaped = [];
process.on('unhandledRejection', (e) => escaped.push(`rejection: ${e?.stack ?? e}`));
process.on('uncaughtException', (e) => escaped.push(`exception: ${e?.stack ?? e}`));

const ours = await createCertificate();
const peerCert = await createCertificate();
const outcomes = {};
let unexplained = 0;

function corrupt(b) {
  if (b[0] !== 22 || b.length <= 13 || Math.random() < 0.3) return;
  for (let k = 1 + Math.floor(Math.random() * 4); k > 0; k--) b[13 + Math.floor(Math.random() * (b.length - 13))] = Math.floor(Math.random() * 256);
}

function handshake() {
  return new Promise((resolve) => {
    let endpoint;
    let ended = false;
    const transport = {
      type: 'udp',
      address: {},
      closed: false,
      onData: () => undefined,
      close: async () => undefined,
      send: async (d) => {
        const b = Buffer.from(d);
        corrupt(b);
        setImmediate(() => {
          try {
            endpoint.receive(b); // a refused datagram throws: the server counts it as bad
          } catch {
            /* counted */
          }
        });
      },
    };
    const peer = new DtlsServer({ transport, cert: peerCert.certPem, key: peerCert.keyPem, signatureHash: { hash: 4, signature: 3 }, srtpProfiles: [1], extendedMasterSecret: true, certificateRequest: true });
    peer.onError.subscribe(() => undefined);
    const end = (kind, why) => {
      if (ended) return;
      ended = true;
      if (kind === 'failed' && !why) unexplained++;
      outcomes[kind] = (outcomes[kind] ?? 0) + 1;
      clearTimeout(timer);
      endpoint.close();
      try {
        peer.close();
      } catch {
        /* closed */
      }
      resolve();
    };
    endpoint = new DtlsEndpoint(ours, {
      send: (b) => setImmediate(() => {
        try {
          transport.onData(b);
        } catch {
          /* the peer's own trouble */
        }
      }),
      connected: () => end('connected'),
      failed: (err) => end('failed', err.message),
      closed: () => end('closed'),
    }, peerCert.fingerprint, 'client');
    const timer = setTimeout(() => end('timeout'), 2500);
  });
}

for (let done = 0; done < N; done += 10) await Promise.all(Array.from({ length: Math.min(10, N - done) }, handshake));
// what escapes may come from the timers werift leaves: give them a few seconds
await new Promise((r) => setTimeout(r, 4000));
process.stdout.write(`${JSON.stringify({ outcomes, unexplained, escaped })}\n`);
process.exit(0);
