/**
 * DTLS 1.2 record-layer helpers (RFC 6347 4.1), pure: the record header is
 * type(1) version(2) epoch(2) sequence_number(6) length(2), then `length` bytes of fragment.
 *
 * - `renumberEpoch0`: every record sent carries a new sequence number (RFC 6347 4.1: "the sequence number
 *   is incremented by one for each record"; 4.2.4: a retransmitted flight is new records). werift-dtls
 *   gives all records of a flight one number and resends a flight byte for byte; epoch-0 records (the
 *   plaintext handshake: ServerHello, Certificate, ..., ChangeCipherSpec) carry no MAC, so their number is
 *   rewritten on the way out. Encrypted records (epoch >= 1) are left alone: the number is in their nonce.
 * - `badHandshakeRecord`: a plaintext handshake record whose handshake headers contradict themselves or their
 *   record (RFC 6347 4.2.2: fragment_offset + fragment_length <= length, fragments within the record),
 *   what OpenSSL answers with a fatal illegal_parameter alert.
 * - `alertRecord`: a fatal alert as an epoch-0 record.
 */

export const DTLS_HEADER = 13;
const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const HANDSHAKE_HEADER = 12;
export const ALERT_ILLEGAL_PARAMETER = 47;

/** Sequence state of our epoch-0 records: the next number to use. */
export interface Epoch0Counter {
  next: number;
}

/**
 * Rewrites, in place, the sequence number of each epoch-0 record of an outgoing datagram to
 * max(its number, counter.next), advancing the counter. Stops at a truncated record.
 */
export function renumberEpoch0(buf: Buffer, counter: Epoch0Counter): void {
  let off = 0;
  while (off + DTLS_HEADER <= buf.length) {
    const len = buf.readUInt16BE(off + 11);
    if (off + DTLS_HEADER + len > buf.length) return;
    if (buf.readUInt16BE(off + 3) === 0) {
      const seq = Math.max(buf.readUIntBE(off + 5, 6), counter.next);
      buf.writeUIntBE(seq, off + 5, 6);
      counter.next = seq + 1;
    }
    off += DTLS_HEADER + len;
  }
}

/**
 * Why a plaintext (epoch 0) handshake record of an incoming datagram is malformed, or undefined when none is
 * (records after a truncated one are not looked at).
 */
export function badHandshakeRecord(buf: Buffer): string | undefined {
  let off = 0;
  while (off + DTLS_HEADER <= buf.length) {
    const len = buf.readUInt16BE(off + 11);
    // a truncated record is discarded silently (RFC 6347 4.1.2.7), as OpenSSL does: not a reason for an alert
    if (off + DTLS_HEADER + len > buf.length) return undefined;
    if (buf[off] === CT_HANDSHAKE && buf.readUInt16BE(off + 3) === 0) {
      // one record may carry several handshake messages (fragments), each with its 12-byte header
      const end = off + DTLS_HEADER + len;
      for (let h = off + DTLS_HEADER; h < end; ) {
        if (end - h < HANDSHAKE_HEADER) return `handshake fragment of ${end - h} bytes, shorter than its header`;
        const length = buf.readUIntBE(h + 1, 3);
        const fragOffset = buf.readUIntBE(h + 6, 3);
        const fragLength = buf.readUIntBE(h + 9, 3);
        if (fragLength > end - h - HANDSHAKE_HEADER) return `handshake fragment_length ${fragLength} but the record has ${end - h - HANDSHAKE_HEADER} bytes left`;
        if (fragOffset + fragLength > length) return `handshake fragment ${fragOffset}+${fragLength} beyond its message length ${length}`;
        h += HANDSHAKE_HEADER + fragLength;
      }
    }
    off += DTLS_HEADER + len;
  }
  return undefined;
}

/** A fatal alert record (epoch 0, DTLS 1.2) with the given sequence number. */
export function alertRecord(description: number, seq: number): Buffer {
  const b = Buffer.alloc(DTLS_HEADER + 2);
  b[0] = CT_ALERT;
  b.writeUInt16BE(0xfefd, 1);
  b.writeUInt16BE(0, 3);
  b.writeUIntBE(seq, 5, 6);
  b.writeUInt16BE(2, 11);
  b[13] = 2; // fatal
  b[14] = description;
  return b;
}

/**
 * Packs whole records, in order, into datagrams of at most `max` bytes (a record larger than `max` goes
 * alone), as OpenSSL and browsers send a flight; werift-dtls hands over one record at a time.
 */
export function packRecords(records: Buffer[], max: number): Buffer[] {
  const out: Buffer[] = [];
  let batch: Buffer[] = [];
  let size = 0;
  const emit = () => {
    if (size > 0) out.push(batch.length === 1 ? batch[0]! : Buffer.concat(batch, size));
    batch = [];
    size = 0;
  };
  for (const r of records) {
    if (size > 0 && size + r.length > max) emit();
    batch.push(r);
    size += r.length;
  }
  emit();
  return out;
}
