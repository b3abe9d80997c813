// STUN against the RFC 5769 test vectors (bytes typed from the RFC), plus our own builder round trips.
import { attribute, bindingRequest, bindingSuccess, crc32, isStun, parseStun, readXorAddress, StunAttr, StunType, verifyFingerprint, verifyIntegrity } from '../../src/protocol/rtc/stun.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';
const TID = hex('b7 e7 a7 01 bc 34 d6 86 fa 87 df ae');

// RFC 5769 2.1 Sample Request
const REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);
// 2.2 Sample IPv4 Response
const RESPONSE4 = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);
// 2.3 Sample IPv6 Response
const RESPONSE6 = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);

describe('STUN (RFC 5769 vectors)', () => {
  test('sample request: username, attributes, integrity and fingerprint', () => {
    expect(isStun(REQUEST)).toBe(true);
    const m = parseStun(REQUEST)!;
    expect(m.type).toBe(StunType.bindingRequest);
    expect(m.transactionId.equals(TID)).toBe(true);
    expect(m.username).toBe('evtj:h6vY');
    expect(attribute(REQUEST, m, StunAttr.software)!.toString()).toBe('STUN test client');
    expect(attribute(REQUEST, m, StunAttr.priority)!.readUInt32BE(0)).toBe(0x6e0001ff);
    expect(verifyIntegrity(REQUEST, m, PASSWORD)).toBe(true);
    expect(verifyIntegrity(REQUEST, m, 'wrong')).toBe(false);
    expect(verifyFingerprint(REQUEST, m)).toBe(true);
  });

  test('IPv4 and IPv6 responses: XOR-MAPPED-ADDRESS, integrity, fingerprint', () => {
    const m4 = parseStun(RESPONSE4)!;
    expect(m4.type).toBe(StunType.bindingSuccess);
    expect(readXorAddress(attribute(RESPONSE4, m4, StunAttr.xorMappedAddress)!, TID)).toEqual({ ip: '192.0.2.1', port: 32853 });
    expect(verifyIntegrity(RESPONSE4, m4, PASSWORD)).toBe(true);
    expect(verifyFingerprint(RESPONSE4, m4)).toBe(true);
    const m6 = parseStun(RESPONSE6)!;
    expect(readXorAddress(attribute(RESPONSE6, m6, StunAttr.xorMappedAddress)!, TID)).toEqual({ ip: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
    expect(verifyIntegrity(RESPONSE6, m6, PASSWORD)).toBe(true);
    expect(verifyFingerprint(RESPONSE6, m6)).toBe(true);
  });

  test('a flipped bit fails integrity or fingerprint; truncation fails parsing', () => {
    for (let i = 20; i < REQUEST.length; i++) {
      const b = Buffer.from(REQUEST);
      b[i] ^= 0x01;
      const m = parseStun(b);
      if (!m) continue;
      expect(verifyIntegrity(b, m, PASSWORD) && verifyFingerprint(b, m)).toBe(false);
    }
    for (let n = 0; n < REQUEST.length; n++) expect(parseStun(REQUEST.subarray(0, n))).toBeUndefined();
  });

  test('crc32 is the IEEE one (check value of "123456789")', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  test('our Binding success response reproduces the RFC IPv4 address encoding and verifies', () => {
    const r = bindingSuccess(TID, '192.0.2.1', 32853, PASSWORD);
    const m = parseStun(r)!;
    expect(attribute(r, m, StunAttr.xorMappedAddress)!.equals(hex('00 01 a1 47 e1 12 a6 43'))).toBe(true);
    expect(verifyIntegrity(r, m, PASSWORD)).toBe(true);
    expect(verifyFingerprint(r, m)).toBe(true);
    const r6 = bindingSuccess(TID, '2001:db8:1234:5678:11:2233:4455:6677', 32853, PASSWORD);
    const m6 = parseStun(r6)!;
    expect(attribute(r6, m6, StunAttr.xorMappedAddress)!.equals(hex('00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9'))).toBe(true);
  });

  test('binding request builder: username, USE-CANDIDATE, integrity', () => {
    const r = bindingRequest(TID, 'abcd:efgh', 'pwpwpwpwpwpwpwpwpwpwpw');
    const m = parseStun(r)!;
    expect(m.username).toBe('abcd:efgh');
    expect(m.useCandidate).toBe(true);
    expect(verifyIntegrity(r, m, 'pwpwpwpwpwpwpwpwpwpwpw')).toBe(true);
    expect(verifyFingerprint(r, m)).toBe(true);
  });
});
