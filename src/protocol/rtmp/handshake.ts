import { createHmac, randomBytes } from 'node:crypto';
import { ProtocolError } from '../errors.js';

/**
 * RTMP handshake: C0 C1 → S0 S1 S2 → C2.
 * The server tries the "complex" handshake (C1 carries an HMAC-SHA256 digest keyed with the Flash
 * Player key, in schema 0 or 1) and falls back to the simple one, as SRS does. Both sides are
 * incremental: feed bytes as they arrive, partial reads are fine, buffers are bounded.
 */

export const HANDSHAKE_SIZE = 1536;
const RTMP_VERSION = 3;
const DIGEST_LEN = 32;

const KEY_TAIL = Buffer.from([
  0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
  0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
]);
/** "Genuine Adobe Flash Media Server 001" + 32 bytes */
const FMS_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001', 'ascii'), KEY_TAIL]);
/** "Genuine Adobe Flash Player 001" + 32 bytes */
const FP_KEY = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001', 'ascii'), KEY_TAIL]);
const FMS_KEY_SHORT = FMS_KEY.subarray(0, 36);
const FP_KEY_SHORT = FP_KEY.subarray(0, 30);

type Schema = 0 | 1;

function hmac(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Offset of the 32-byte digest in a 1536-byte C1/S1 for the given schema. */
export function digestOffset(block: Buffer, schema: Schema): number {
  // schema 0: key block (764) then digest block; schema 1: digest block first. A digest block
  // starts with 4 offset bytes whose sum mod 728 places the digest.
  const base = schema === 0 ? 8 + 764 : 8;
  const sum = block[base]! + block[base + 1]! + block[base + 2]! + block[base + 3]!;
  return base + 4 + (sum % 728);
}

function digestOf(block: Buffer, offset: number, key: Buffer): Buffer {
  return hmac(key, block.subarray(0, offset), block.subarray(offset + DIGEST_LEN));
}

/** Finds which schema C1's digest validates under, or undefined (simple handshake). */
export function findC1Digest(c1: Buffer): { schema: Schema; digest: Buffer } | undefined {
  if (c1.readUInt32BE(4) === 0) return undefined; // version 0: a simple-handshake client
  for (const schema of [1, 0] as const) {
    const off = digestOffset(c1, schema);
    const digest = c1.subarray(off, off + DIGEST_LEN);
    if (digestOf(c1, off, FP_KEY_SHORT).equals(digest)) return { schema, digest: Buffer.from(digest) };
  }
  return undefined;
}

function makeDigestedBlock(key: Buffer, schema: Schema, version: number): Buffer {
  const block = randomBytes(HANDSHAKE_SIZE);
  block.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0, 0);
  block.writeUInt32BE(version, 4);
  const off = digestOffset(block, schema);
  digestOf(block, off, key).copy(block, off);
  return block;
}

/** S0+S1+S2 for a C1. Complex when C1's digest validates, simple (S2 = C1) otherwise. */
export function serverResponse(c1: Buffer): { response: Buffer; complex: boolean } {
  const found = findC1Digest(c1);
  const s0 = Buffer.from([RTMP_VERSION]);
  if (!found) {
    const s1 = randomBytes(HANDSHAKE_SIZE);
    s1.writeUInt32BE(Math.floor(Date.now() / 1000) >>> 0, 0);
    s1.writeUInt32BE(0, 4);
    return { response: Buffer.concat([s0, s1, c1]), complex: false };
  }
  const s1 = makeDigestedBlock(FMS_KEY_SHORT, found.schema, 0x04050001);
  const s2 = randomBytes(HANDSHAKE_SIZE);
  const key = hmac(FMS_KEY, found.digest);
  hmac(key, s2.subarray(0, HANDSHAKE_SIZE - DIGEST_LEN)).copy(s2, HANDSHAKE_SIZE - DIGEST_LEN);
  return { response: Buffer.concat([s0, s1, s2]), complex: true };
}

/** A C1 carrying a Flash Player digest (schema 1), as Flash and ffmpeg send. */
export function makeComplexC1(): Buffer {
  return makeDigestedBlock(FP_KEY_SHORT, 1, 0x80000702);
}

/**
 * Server side. push() returns bytes to send (S0S1S2, once) and, when C2 has arrived, `done`
 * with any bytes that followed it (the first chunks).
 */
export class ServerHandshake {
  private buf: Buffer = Buffer.alloc(0);
  private state: 'c0c1' | 'c2' | 'done' = 'c0c1';
  complex = false;

  push(data: Buffer): { send?: Buffer; done: boolean; rest?: Buffer } {
    if (this.state === 'done') throw new ProtocolError('handshake already finished');
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    let send: Buffer | undefined;
    if (this.state === 'c0c1') {
      if (this.buf.length < 1 + HANDSHAKE_SIZE) return { done: false };
      if (this.buf[0] !== RTMP_VERSION) {
        throw new ProtocolError(`handshake: C0 version ${this.buf[0]} is not RTMP 3 (plain RTMP only; is this HTTP or RTMPS?)`);
      }
      const c1 = this.buf.subarray(1, 1 + HANDSHAKE_SIZE);
      const r = serverResponse(Buffer.from(c1));
      this.complex = r.complex;
      send = r.response;
      this.buf = this.buf.subarray(1 + HANDSHAKE_SIZE);
      this.state = 'c2';
    }
    if (this.buf.length < HANDSHAKE_SIZE) return { send, done: false };
    const rest = this.buf.subarray(HANDSHAKE_SIZE);
    this.buf = Buffer.alloc(0);
    this.state = 'done';
    return { send, done: true, rest: rest.length > 0 ? rest : undefined };
  }
}

/**
 * Client side (simple C1 by default, or the Flash digest with complex: true). start() gives
 * C0C1; push() returns C2 to send and `done` once S0S1S2 arrived.
 */
export class ClientHandshake {
  private buf: Buffer = Buffer.alloc(0);
  private finished = false;
  constructor(private readonly complex = false) {}

  start(): Buffer {
    const c1 = this.complex ? makeComplexC1() : randomBytes(HANDSHAKE_SIZE);
    if (!this.complex) {
      c1.writeUInt32BE(0, 0);
      c1.writeUInt32BE(0, 4);
    }
    return Buffer.concat([Buffer.from([RTMP_VERSION]), c1]);
  }

  push(data: Buffer): { send?: Buffer; done: boolean; rest?: Buffer } {
    if (this.finished) throw new ProtocolError('handshake already finished');
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    const need = 1 + 2 * HANDSHAKE_SIZE;
    if (this.buf.length < need) return { done: false };
    if (this.buf[0] !== RTMP_VERSION) throw new ProtocolError(`handshake: S0 version ${this.buf[0]} is not RTMP 3`);
    const s1 = this.buf.subarray(1, 1 + HANDSHAKE_SIZE);
    const c2 = Buffer.from(s1); // echo S1 (accepted by servers in both modes)
    const rest = this.buf.subarray(need);
    this.buf = Buffer.alloc(0);
    this.finished = true;
    return { send: c2, done: true, rest: rest.length > 0 ? rest : undefined };
  }
}
