// SRTP/SRTCP AES_CM_128_HMAC_SHA1_80 against RFC 3711 appendix B (B.2 keystream, B.3 key derivation)
// and the libsrtp driver's packet vectors (same master key/salt as B.3).
import { createCipheriv } from 'node:crypto';
import { deriveKey, rtpHeaderLength, SrtpContext } from '../../src/protocol/rtc/srtp.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const MASTER_KEY = hex('E1F97A0D3E018BE0D64FA32C06DE4139');
const MASTER_SALT = hex('0EC675AD498AFEEBB6960B3AABE6');

describe('SRTP (RFC 3711)', () => {
  test('B.3 key derivation', () => {
    expect(deriveKey(MASTER_KEY, MASTER_SALT, 0, 16).toString('hex')).toBe('c61e7a93744f39ee10734afe3ff7a087');
    expect(deriveKey(MASTER_KEY, MASTER_SALT, 2, 14).toString('hex')).toBe('30cbbc08863d8c85d49db34a9ae1');
    expect(deriveKey(MASTER_KEY, MASTER_SALT, 1, 20).toString('hex')).toBe('cebe321f6ff7716b6fd4ab49af256a156d38baa4');
  });

  test('B.2 AES-CM keystream: counter blocks salt||0, salt||1, salt||2', () => {
    // B.2's session key and salt come from no master key, so check the counter-block construction the
    // context uses (salt || block counter, AES-ECB) with them directly
    const ecb = createCipheriv('aes-128-ecb', hex('2B7E151628AED2A6ABF7158809CF4F3C'), null);
    ecb.setAutoPadding(false);
    const counters = Buffer.concat([0, 1, 2].map((i) => Buffer.concat([hex('F0F1F2F3F4F5F6F7F8F9FAFBFCFD'), Buffer.from([0, i])])));
    expect(ecb.update(counters).toString('hex').toUpperCase()).toBe('E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0');
  });

  test('protect near the start of a stream: a sequence number more than 2^15 ahead keeps ROC 0 (no index below 0)', () => {
    const rtp = (seq: number) => {
      const p = hex('800f0000decafbad cafebabe abababab abababababababab abababab');
      p.writeUInt16BE(seq, 2);
      return p;
    };
    const tx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    tx.protectRtp(rtp(100));
    const jumped = tx.protectRtp(rtp(40000));
    // what a sender that starts at 40000 (ROC 0 by definition) sends
    expect(jumped.toString('hex')).toBe(new SrtpContext(MASTER_KEY, MASTER_SALT).protectRtp(rtp(40000)).toString('hex'));
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    expect(rx.unprotectRtp(new SrtpContext(MASTER_KEY, MASTER_SALT).protectRtp(rtp(100)))?.toString('hex')).toBe(rtp(100).toString('hex'));
    expect(rx.unprotectRtp(jumped)?.toString('hex')).toBe(rtp(40000).toString('hex'));
  });

  test('libsrtp driver vector: RTP protect and unprotect', () => {
    const plain = hex('800f1234decafbad cafebabe abababab abababababababab abababab');
    const cipher = hex('800f1234decafbad cafebabe 4e55dc4c e79978d88ca4d215 949d2402 b78d6acc99ea179b8dbb');
    expect(new SrtpContext(MASTER_KEY, MASTER_SALT).protectRtp(plain).toString('hex')).toBe(cipher.toString('hex'));
    expect(new SrtpContext(MASTER_KEY, MASTER_SALT).unprotectRtp(cipher)!.toString('hex')).toBe(plain.toString('hex'));
    // any flipped bit or a truncation is refused
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    for (let i = 0; i < cipher.length; i++) {
      const b = Buffer.from(cipher);
      b[i] ^= 0x80;
      expect(rx.unprotectRtp(b)).toBeUndefined();
    }
    for (let n = 0; n < cipher.length; n++) expect(rx.unprotectRtp(cipher.subarray(0, n))).toBeUndefined();
  });

  test('libsrtp driver vector: SRTCP protect (index 1) and unprotect', () => {
    const plain = hex('81c8000bcafebabe abababababababab abababababababab');
    const cipher = hex('81c8000bcafebabe 7128035be487b9bd bef89041f977a5a8 80000001 993e08cd54d6c1230798');
    expect(new SrtpContext(MASTER_KEY, MASTER_SALT).protectRtcp(plain).toString('hex')).toBe(cipher.toString('hex'));
    expect(new SrtpContext(MASTER_KEY, MASTER_SALT).unprotectRtcp(cipher)!.toString('hex')).toBe(plain.toString('hex'));
    const b = Buffer.from(cipher);
    b[9] ^= 1;
    expect(new SrtpContext(MASTER_KEY, MASTER_SALT).unprotectRtcp(b)).toBeUndefined();
  });

  test('rollover: 1,500 packets across the 16-bit wrap round-trip; late packets from before the wrap decrypt once', () => {
    const tx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    const rx = new SrtpContext(MASTER_KEY, MASTER_SALT);
    const pkt = Buffer.alloc(12 + 40, 0x5a);
    pkt[0] = 0x80;
    pkt[1] = 96;
    pkt.writeUInt32BE(0x11223344, 8);
    const held: [number, Buffer][] = [];
    for (let i = 0; i < 1_500; i++) {
      const seq = (64_900 + i) & 0xffff;
      pkt.writeUInt16BE(seq, 2);
      pkt.writeUInt32BE(i, 12);
      const s = tx.protectRtp(pkt);
      if (i % 100 === 50 && i < 600) {
        held.push([i, s]); // lost now, arrives (as a retransmission would) after the wrap
        continue;
      }
      const p = rx.unprotectRtp(s);
      expect(p).toBeDefined();
      if (i % 97 === 0) expect(p!.readUInt32BE(12)).toBe(i);
    }
    // packets from before the wrap still decrypt (the index estimate picks ROC 0), once: again is a replay
    for (const [i, s] of held) expect(rx.unprotectRtp(s)?.readUInt32BE(12)).toBe(i);
    for (const [, s] of held) expect(rx.unprotectRtp(s)).toBeUndefined();
    expect(rx.lastFailure).toBe('replay');
    expect(rtpHeaderLength(pkt)).toBe(12);
  });

  test('header with CSRCs and an extension: only the payload is encrypted', () => {
    const p = hex('91 60 0001 00000001 00000002 aaaaaaaa  bede0001 10ff0000  01020304');
    expect(rtpHeaderLength(p)).toBe(24);
    const s = new SrtpContext(MASTER_KEY, MASTER_SALT).protectRtp(p);
    expect(s.subarray(0, 24).equals(p.subarray(0, 24))).toBe(true);
    expect(s.subarray(24, 28).equals(p.subarray(24))).toBe(false);
    expect(new SrtpContext(MASTER_KEY, MASTER_SALT).unprotectRtp(s)!.equals(p)).toBe(true);
  });
});
