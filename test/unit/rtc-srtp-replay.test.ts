// SRTP/SRTCP receive replay protection (RFC 3711 3.3.2, 3.4) and the index estimate across the
// 16-bit wrap (3.3.1). The packets are protected by an independent RFC 3711 implementation written
// here on node:crypto's aes-128-ctr + HMAC-SHA1 (checked against libsrtp's driver vector first), with
// the ROC the sender really used, so the receiver's estimate is checked too.
import { createCipheriv, createHmac } from 'node:crypto';
import { estimateSrtpIndex, ReplayWindow } from '../../src/protocol/rtc/replay-window.js';
import { SRTCP_REPLAY_WINDOW, SRTP_MAX_RECV_SSRCS, SRTP_REPLAY_WINDOW, SrtpContext } from '../../src/protocol/rtc/srtp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MASTER_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const MASTER_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');

// ---- the reference sender (RFC 3711 4.1.1 AES-CM, 4.2 HMAC-SHA1, 4.3.1 PRF with kdr 0)

const ctr = (key: Buffer, iv: Buffer, data: Buffer) => createCipheriv('aes-128-ctr', key, iv).update(data);

function prf(label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  MASTER_SALT.copy(iv);
  iv[7]! ^= label;
  return ctr(MASTER_KEY, iv, Buffer.alloc(length));
}

const keys = { rtpE: prf(0, 16), rtpA: prf(1, 20), rtpS: prf(2, 14), rtcpE: prf(3, 16), rtcpA: prf(4, 20), rtcpS: prf(5, 14) };

/** IV = (salt * 2^16) ^ (ssrc * 2^64) ^ (index * 2^16), index < 2^48 */
function ivOf(salt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  salt.copy(iv);
  const x = Buffer.alloc(16);
  x.writeUInt32BE(ssrc, 4);
  x.writeUIntBE(index, 8, 6);
  for (let i = 0; i < 16; i++) iv[i]! ^= x[i]!;
  return iv;
}

function refProtectRtp(seq: number, roc: number, ssrc: number, payload: Buffer, pt = 96, ts = 1234): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = pt;
  header.writeUInt16BE(seq, 2);
  header.writeUInt32BE(ts, 4);
  header.writeUInt32BE(ssrc, 8);
  const body = Buffer.concat([header, ctr(keys.rtpE, ivOf(keys.rtpS, ssrc, roc * 0x10000 + seq), payload)]);
  const rocB = Buffer.alloc(4);
  rocB.writeUInt32BE(roc);
  const tag = createHmac('sha1', keys.rtpA).update(body).update(rocB).digest().subarray(0, 10);
  return Buffer.concat([body, tag]);
}

function refProtectRtcp(index: number, ssrc: number): Buffer {
  const plain = Buffer.alloc(28, 0xab);
  plain.writeUInt32BE(0x81c80006, 0); // SR, length 6 words
  plain.writeUInt32BE(ssrc, 4);
  const body = Buffer.concat([plain.subarray(0, 8), ctr(keys.rtcpE, ivOf(keys.rtcpS, ssrc, index), plain.subarray(8))]);
  const ei = Buffer.alloc(4);
  ei.writeUInt32BE((0x80000000 | index) >>> 0);
  const signed = Buffer.concat([body, ei]);
  return Buffer.concat([signed, createHmac('sha1', keys.rtcpA).update(signed).digest().subarray(0, 10)]);
}

const payloadOf = (seq: number, roc: number) => {
  const p = Buffer.alloc(24, 0x5a);
  p.writeUInt32BE(seq, 0);
  p.writeUInt32BE(roc, 4);
  return p;
};
const SSRC = 0x11223344;
/** unprotects; throws when the plain payload is not what the reference sent with that seq/ROC */
function take(rx: SrtpContext, seq: number, roc: number, ssrc = SSRC): boolean {
  const out = rx.unprotectRtp(refProtectRtp(seq, roc, ssrc, payloadOf(seq, roc)));
  if (out && !out.subarray(12).equals(payloadOf(seq, roc))) throw new Error(`seq ${seq} ROC ${roc}: wrong plain text (wrong ROC estimate)`);
  return out !== undefined;
}

describe('the reference sender', () => {
  test("matches libsrtp's driver vectors (RTP and SRTCP)", () => {
    // same packet as test/unit/rtc-srtp.test.ts: seq 0x1234, ssrc cafebabe, ROC 0
    const rtp = refProtectRtp(0x1234, 0, 0xcafebabe, Buffer.alloc(16, 0xab), 0x0f, 0xdecafbad);
    expect(rtp.subarray(12).toString('hex')).toBe('4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb');
    const rtcp = refProtectRtcp(1, 0xcafebabe);
    expect(rtcp.subarray(8, 24).toString('hex')).toBe('7128035be487b9bdbef89041f977a5a8');
  });
});

describe('SRTP replay protection', () => {
  test('a replayed packet is refused, as a replay', () => {
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    const pkt = refProtectRtp(100, 0, SSRC, payloadOf(100, 0));
    expect(rx.unprotectRtp(pkt)).toBeDefined();
    expect(rx.lastFailure).toBe('none');
    expect(rx.unprotectRtp(pkt)).toBeUndefined();
    expect(rx.lastFailure).toBe('replay');
    expect(rx.unprotectRtp(pkt)).toBeUndefined();
  });

  test('a packet reordered inside the window is taken once, refused the second time', () => {
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    expect(take(rx, 10, 0)).toBe(true);
    expect(take(rx, 13, 0)).toBe(true);
    expect(take(rx, 11, 0)).toBe(true); // late, never seen
    expect(take(rx, 12, 0)).toBe(true);
    expect(take(rx, 11, 0)).toBe(false);
    expect(rx.lastFailure).toBe('replay');
    expect(take(rx, 12, 0)).toBe(false);
    expect(take(rx, 14, 0)).toBe(true);
  });

  test(`a packet older than the window (${SRTP_REPLAY_WINDOW}) is refused, one just inside is taken`, () => {
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    expect(take(rx, 1000, 0)).toBe(true);
    const top = 1000 + SRTP_REPLAY_WINDOW + 500;
    expect(take(rx, top, 0)).toBe(true);
    expect(take(rx, top - SRTP_REPLAY_WINDOW, 0)).toBe(false); // never seen, but too old
    expect(rx.lastFailure).toBe('replay');
    expect(take(rx, top - SRTP_REPLAY_WINDOW + 1, 0)).toBe(true);
    expect(take(rx, top - SRTP_REPLAY_WINDOW + 1, 0)).toBe(false);
  });

  test('across the sequence wrap with reordering (65534, 0, 65535, 1) each packet is taken once, with the right ROC', () => {
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    for (let s = 65500; s < 65534; s++) expect(take(rx, s, 0)).toBe(true);
    const order: [number, number][] = [[65534, 0], [0, 1], [65535, 0], [1, 1], [3, 1], [2, 1]];
    for (const [seq, roc] of order) expect(take(rx, seq, roc)).toBe(true);
    for (const [seq, roc] of order) {
      expect(take(rx, seq, roc)).toBe(false);
      expect(rx.lastFailure).toBe('replay');
    }
    // the first packet of a stream may be the one before the wrap too
    const rx2 = new SrtpContext(MASTER_KEY, MASTER_SALT);
    for (const [seq, roc] of [[65534, 0], [0, 1], [65535, 0], [1, 1]] as const) expect(take(rx2, seq, roc)).toBe(true);
  });

  test('three wraps with seeded jitter (up to 40 packets late) and duplicates: every packet decrypts exactly once', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    const first = 65536 - 500;
    const n = 3 * 65536;
    const late: number[] = [];
    let taken = 0;
    let refusedDup = 0;
    const send = (ext: number) => {
      const seq = ext & 0xffff;
      const roc = Math.floor(ext / 65536);
      if (take(rx, seq, roc)) taken++;
      else throw new Error(`packet ${ext} refused (${rx.lastFailure})`);
      if (rand() < 0.01) {
        if (take(rx, seq, roc) || rx.lastFailure !== 'replay') throw new Error(`duplicate ${ext} taken`);
        refusedDup++;
      }
    };
    for (let ext = first; ext < first + n; ext++) {
      if (rand() < 0.05) late.push(ext);
      else send(ext);
      while (late.length && (rand() < 0.2 || ext - late[0]! >= 40)) send(late.shift()!);
    }
    for (const ext of late) send(ext);
    expect(taken).toBe(n);
    expect(refusedDup).toBeGreaterThan(100);
  });

  test('a forged packet (bad tag) is refused as auth and does not move the window', () => {
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    expect(take(rx, 500, 0)).toBe(true);
    const forged = refProtectRtp(500 + SRTP_REPLAY_WINDOW + 10, 0, SSRC, payloadOf(0, 0));
    forged[forged.length - 1]! ^= 1;
    expect(rx.unprotectRtp(forged)).toBeUndefined();
    expect(rx.lastFailure).toBe('auth');
    expect(take(rx, 501, 0)).toBe(true); // still inside the window: the forged index never became the top
  });

  test('each SSRC has its own window; more than the SSRC cap are refused', () => {
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    expect(take(rx, 7, 0, 1)).toBe(true);
    expect(take(rx, 7, 0, 2)).toBe(true);
    expect(take(rx, 7, 0, 1)).toBe(false);
    for (let s = 3; s <= SRTP_MAX_RECV_SSRCS; s++) expect(take(rx, 7, 0, s)).toBe(true);
    expect(take(rx, 7, 0, SRTP_MAX_RECV_SSRCS + 1)).toBe(false);
    expect(rx.lastFailure).toBe('ssrcs');
  });
});

describe('SRTCP replay protection', () => {
  test('a replayed SRTCP index is refused; reordering inside the window is taken once; too old is refused', () => {
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    const p1 = refProtectRtcp(1, SSRC);
    const plain = rx.unprotectRtcp(p1);
    expect(plain?.subarray(8).equals(Buffer.alloc(20, 0xab))).toBe(true);
    expect(rx.unprotectRtcp(p1)).toBeUndefined();
    expect(rx.lastFailure).toBe('replay');
    expect(rx.unprotectRtcp(refProtectRtcp(3, SSRC))).toBeDefined();
    expect(rx.unprotectRtcp(refProtectRtcp(2, SSRC))).toBeDefined();
    expect(rx.unprotectRtcp(refProtectRtcp(2, SSRC))).toBeUndefined();
    expect(rx.unprotectRtcp(refProtectRtcp(3 + SRTCP_REPLAY_WINDOW, SSRC))).toBeDefined();
    expect(rx.unprotectRtcp(refProtectRtcp(3, SSRC))).toBeUndefined(); // too old (and seen)
    expect(rx.unprotectRtcp(refProtectRtcp(4, SSRC))).toBeDefined(); // just inside, never seen
    expect(rx.unprotectRtcp(refProtectRtcp(4, SSRC))).toBeUndefined();
    // another sender SSRC has its own index space
    expect(rx.unprotectRtcp(refProtectRtcp(1, SSRC + 1))).toBeDefined();
  });

  test('what SrtpContext.protectRtcp sends is taken once by the receiver', () => {
    const tx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    const plain = hex('81c8000bcafebabe abababababababab abababababababab');
    const sent = [tx.protectRtcp(plain), tx.protectRtcp(plain), tx.protectRtcp(plain)];
    for (const p of [sent[1]!, sent[0]!, sent[2]!]) expect(rx.unprotectRtcp(p)?.equals(plain)).toBe(true);
    for (const p of sent) expect(rx.unprotectRtcp(p)).toBeUndefined();
  });
});

describe('ReplayWindow', () => {
  test('agrees with a set-of-seen-indices model on 200,000 seeded random arrivals', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
    const size = 128;
    const w = new ReplayWindow(size);
    const seen = new Set<number>();
    let top = -1;
    const wrong: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      const r = rand();
      // mostly forward by 1-3, some late by up to 1.5 windows, some jumps by several windows, some repeats
      const index = r < 0.6 ? top + 1 + Math.floor(rand() * 3) : r < 0.9 ? Math.max(0, top - Math.floor(rand() * size * 1.5)) : r < 0.97 ? top + Math.floor(rand() * size * 3) : Math.max(0, top);
      const expected = index > top || (top - index < size && !seen.has(index));
      if (w.check(index) !== expected) wrong.push(index);
      if (expected) {
        w.accept(index);
        seen.add(index);
        top = Math.max(top, index);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(w.top).toBe(top);
    expect(seen.size).toBeGreaterThan(100_000);
  });

  test('sizes: at least 64, a multiple of 32', () => {
    expect(() => new ReplayWindow(32)).toThrow(RangeError);
    expect(() => new ReplayWindow(100)).toThrow(RangeError);
    expect(new ReplayWindow(64).size).toBe(64);
  });
});

describe('estimateSrtpIndex (RFC 3711 3.3.1)', () => {
  test.each([
    [-1, 5, 5],
    [100, 65535, 65535], // ROC stays 0 near the start (libsrtp), never 2^32 - 1
    [65534, 0, 65536], // wrap: ROC + 1
    [65536, 65535, 65535], // late packet from before the wrap: ROC - 1
    [65537, 2, 65538],
    [3 * 65536 + 40000, 100, 4 * 65536 + 100],
    [3 * 65536 + 100, 60000, 2 * 65536 + 60000],
    [3 * 65536 + 100, 30000, 3 * 65536 + 30000],
  ])('top %d, seq %d -> index %d', (top, seq, index) => {
    expect(estimateSrtpIndex(top, seq)).toBe(index);
  });
});
