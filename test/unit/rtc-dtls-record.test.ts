// DTLS record-layer helpers: epoch-0 renumbering of outgoing records (werift-dtls reuses one record number per
// flight and resends flights byte for byte; srs-bench's ARQ cases reject a retransmission with the same number)
// and the malformed-handshake check (srs-bench's Corrupt cases expect a fatal alert).
import { alertRecord, ALERT_ILLEGAL_PARAMETER, badHandshakeRecord, packRecords, renumberEpoch0 } from '../../src/protocol/rtc/dtls-record.js';

/** One DTLS 1.2 record: type, epoch, sequence number, body. */
function record(type: number, epoch: number, seq: number, body: Buffer): Buffer {
  const h = Buffer.alloc(13);
  h[0] = type;
  h.writeUInt16BE(0xfefd, 1);
  h.writeUInt16BE(epoch, 3);
  h.writeUIntBE(seq, 5, 6);
  h.writeUInt16BE(body.length, 11);
  return Buffer.concat([h, body]);
}

/** A handshake fragment: msg type, total length, message_seq, fragment offset, fragment bytes. */
function handshake(msgType: number, length: number, offset: number, frag: Buffer, messageSeq = 0): Buffer {
  const h = Buffer.alloc(12);
  h[0] = msgType;
  h.writeUIntBE(length, 1, 3);
  h.writeUInt16BE(messageSeq, 4);
  h.writeUIntBE(offset, 6, 3);
  h.writeUIntBE(frag.length, 9, 3);
  return Buffer.concat([h, frag]);
}

const seqOf = (b: Buffer, off = 0) => b.readUIntBE(off + 5, 6);

describe('renumberEpoch0', () => {
  it('gives each epoch-0 record of a flight, and of its retransmission, a new increasing number', () => {
    const counter = { next: 0 };
    // werift: ServerHello, Certificate, ServerKeyExchange, ServerHelloDone all with record number 1
    const flight = [2, 11, 12, 14].map((t) => record(22, 0, 1, handshake(t, 4, 0, Buffer.from([1, 2, 3, 4]))));
    const first = flight.map((r) => {
      const b = Buffer.from(r);
      renumberEpoch0(b, counter);
      return seqOf(b);
    });
    expect(first).toEqual([1, 2, 3, 4]);
    const again = flight.map((r) => {
      const b = Buffer.from(r);
      renumberEpoch0(b, counter);
      return seqOf(b);
    });
    expect(again).toEqual([5, 6, 7, 8]);
    // the body is untouched
    const b = Buffer.from(flight[0]!);
    renumberEpoch0(b, counter);
    expect(b.subarray(11)).toEqual(flight[0]!.subarray(11));
  });

  it('keeps a number already ahead of the counter, leaves encrypted (epoch 1) records alone, walks several records per datagram', () => {
    const counter = { next: 3 };
    const dgram = Buffer.concat([record(22, 0, 10, Buffer.alloc(20)), record(20, 0, 2, Buffer.from([1])), record(22, 1, 0, Buffer.alloc(40))]);
    renumberEpoch0(dgram, counter);
    expect(seqOf(dgram, 0)).toBe(10);
    expect(seqOf(dgram, 33)).toBe(11);
    expect(seqOf(dgram, 33 + 14)).toBe(0);
    expect(counter.next).toBe(12);
  });

  it('stops at a truncated record without throwing', () => {
    const counter = { next: 0 };
    const r = record(22, 0, 5, Buffer.alloc(30)).subarray(0, 20);
    expect(() => renumberEpoch0(r, counter)).not.toThrow();
    expect(counter.next).toBe(0);
  });
});

describe('badHandshakeRecord', () => {
  const clientHello = record(22, 0, 0, handshake(1, 129, 0, Buffer.alloc(129, 7)));

  it('accepts well-formed handshakes: whole, fragmented, two messages in one record, with non-handshake records beside', () => {
    expect(badHandshakeRecord(clientHello)).toBeUndefined();
    expect(badHandshakeRecord(record(22, 0, 1, handshake(11, 3000, 1000, Buffer.alloc(900))))).toBeUndefined();
    const two = Buffer.concat([handshake(16, 5, 0, Buffer.alloc(5)), handshake(15, 6, 0, Buffer.alloc(6), 1)]);
    expect(badHandshakeRecord(record(22, 0, 2, two))).toBeUndefined();
    expect(badHandshakeRecord(Buffer.concat([record(20, 0, 3, Buffer.from([1])), record(22, 1, 0, Buffer.alloc(48, 9))]))).toBeUndefined();
  });

  it("finds srs-bench's corruption: the handshake length set to 15 while the fragment is 129 bytes", () => {
    const corrupt = Buffer.from(clientHello);
    corrupt[14] = 0;
    corrupt[15] = 0;
    corrupt[16] = 0xf;
    expect(badHandshakeRecord(corrupt)).toMatch(/beyond its message length 15/);
  });

  it('finds a fragment_length larger than the record, a record shorter than a handshake header; a truncated datagram is no reason', () => {
    const long = Buffer.from(clientHello);
    long.writeUIntBE(500, 13 + 9, 3);
    expect(badHandshakeRecord(long)).toMatch(/fragment_length 500/);
    expect(badHandshakeRecord(record(22, 0, 0, Buffer.alloc(5)))).toMatch(/shorter than its header/);
    // truncated: discarded silently as OpenSSL does (RFC 6347 4.1.2.7), not answered with an alert
    expect(badHandshakeRecord(clientHello.subarray(0, 50))).toBeUndefined();
  });
});

describe('alertRecord', () => {
  it('is a fatal alert in an epoch-0 DTLS 1.2 record', () => {
    expect(alertRecord(ALERT_ILLEGAL_PARAMETER, 7).toString('hex')).toBe('15' + 'fefd' + '0000' + '000000000007' + '0002' + '02' + '2f');
  });
});

describe('packRecords', () => {
  it('packs a flight into as few datagrams of at most max bytes as whole records allow, in order', () => {
    const recs = [100, 600, 400, 300, 1500, 50].map((n, i) => record(22, 0, i, Buffer.alloc(n - 13, i)));
    const out = packRecords(recs, 1200);
    expect(out.map((d) => d.length)).toEqual([1100, 300, 1500, 50]);
    expect(Buffer.concat(out)).toEqual(Buffer.concat(recs));
    expect(packRecords([], 1200)).toEqual([]);
    expect(packRecords([recs[0]!], 1200)[0]).toBe(recs[0]);
  });
});
