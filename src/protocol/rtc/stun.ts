/**
 * STUN (RFC 5389/8489) as ICE-lite needs it: parse a message, check MESSAGE-INTEGRITY (HMAC-SHA1 with
 * the short-term password) and FINGERPRINT (CRC-32 xor 0x5354554e), build a Binding success response
 * with XOR-MAPPED-ADDRESS, and a Binding request (for tests and clients). Pure functions on Buffers.
 */
import { createHmac } from 'node:crypto';
import net from 'node:net';

export const MAGIC_COOKIE = 0x2112a442;
export const StunType = {
  bindingRequest: 0x0001,
  bindingSuccess: 0x0101,
  bindingError: 0x0111,
  bindingIndication: 0x0011,
} as const;
export const StunAttr = {
  mappedAddress: 0x0001,
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  xorMappedAddress: 0x0020,
  priority: 0x0024,
  useCandidate: 0x0025,
  software: 0x8022,
  fingerprint: 0x8028,
  iceControlled: 0x8029,
  iceControlling: 0x802a,
} as const;

export interface StunAttribute {
  type: number;
  /** offset of the attribute's value in the message */
  offset: number;
  length: number;
}

export interface StunMessage {
  type: number;
  transactionId: Buffer;
  attributes: StunAttribute[];
  /** USERNAME as text, when present */
  username?: string;
  /** offset of the MESSAGE-INTEGRITY attribute header, when present */
  integrityAt?: number;
  /** offset of the FINGERPRINT attribute header, when present */
  fingerprintAt?: number;
  useCandidate: boolean;
}

/** RFC 7983: the first byte of a STUN message is 0..3 (and the magic cookie sits at 4). */
export function isStun(buf: Buffer): boolean {
  return buf.length >= 20 && buf[0]! < 4 && buf.readUInt32BE(4) === MAGIC_COOKIE;
}

/** Parses a STUN message; undefined when it is not well formed (length, padding, attribute bounds). */
export function parseStun(buf: Buffer): StunMessage | undefined {
  if (!isStun(buf)) return undefined;
  const length = buf.readUInt16BE(2);
  if (length % 4 !== 0 || 20 + length !== buf.length) return undefined;
  const msg: StunMessage = { type: buf.readUInt16BE(0), transactionId: buf.subarray(8, 20), attributes: [], useCandidate: false };
  let p = 20;
  while (p + 4 <= buf.length) {
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    const end = p + 4 + len;
    if (end > buf.length) return undefined;
    if (msg.fingerprintAt !== undefined) return undefined; // nothing may follow FINGERPRINT
    // after MESSAGE-INTEGRITY only FINGERPRINT counts (RFC 5389 15.4)
    if (msg.integrityAt === undefined || type === StunAttr.fingerprint) {
      msg.attributes.push({ type, offset: p + 4, length: len });
      if (type === StunAttr.username) msg.username = buf.toString('utf8', p + 4, end);
      else if (type === StunAttr.messageIntegrity) {
        if (len !== 20) return undefined;
        msg.integrityAt = p;
      } else if (type === StunAttr.fingerprint) {
        if (len !== 4) return undefined;
        msg.fingerprintAt = p;
      } else if (type === StunAttr.useCandidate) msg.useCandidate = true;
    }
    p = end + ((4 - (len % 4)) % 4);
  }
  if (p !== buf.length) return undefined;
  return msg;
}

export function attribute(buf: Buffer, msg: StunMessage, type: number): Buffer | undefined {
  const a = msg.attributes.find((x) => x.type === type);
  return a ? buf.subarray(a.offset, a.offset + a.length) : undefined;
}

// ------------------------------------------------------------------ CRC-32 (IEEE 802.3, as zlib)

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc32(buf: Buffer, start = 0, end = buf.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

const FINGERPRINT_XOR = 0x5354554e;

/** HMAC-SHA1 over the message up to `upTo`, with the header length set as if the message ended at `lengthEnd`. */
function integrityOver(buf: Buffer, upTo: number, lengthEnd: number, key: Buffer | string): Buffer {
  const header = Buffer.from(buf.subarray(0, 20));
  header.writeUInt16BE(lengthEnd - 20, 2);
  return createHmac('sha1', key).update(header).update(buf.subarray(20, upTo)).digest();
}

/** MESSAGE-INTEGRITY check with the short-term key (the ICE password). */
export function verifyIntegrity(buf: Buffer, msg: StunMessage, key: Buffer | string): boolean {
  const at = msg.integrityAt;
  if (at === undefined) return false;
  const mac = integrityOver(buf, at, at + 24, key);
  return mac.equals(buf.subarray(at + 4, at + 24));
}

export function verifyFingerprint(buf: Buffer, msg: StunMessage): boolean {
  const at = msg.fingerprintAt;
  if (at === undefined) return false;
  return ((crc32(buf, 0, at) ^ FINGERPRINT_XOR) >>> 0) === buf.readUInt32BE(at + 4);
}

// ------------------------------------------------------------------ building

export interface StunBuildAttribute {
  type: number;
  value: Buffer;
}

/**
 * Builds a message: header, the attributes (padded to 4 bytes), then MESSAGE-INTEGRITY when `key` is
 * given and FINGERPRINT when `fingerprint` (default true).
 */
export function buildStun(type: number, transactionId: Buffer, attrs: StunBuildAttribute[], key?: Buffer | string, fingerprint = true): Buffer {
  let size = 20;
  for (const a of attrs) size += 4 + a.value.length + ((4 - (a.value.length % 4)) % 4);
  const miAt = size;
  if (key !== undefined) size += 24;
  const fpAt = size;
  if (fingerprint) size += 8;
  const out = Buffer.alloc(size);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(size - 20, 2);
  out.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(out, 8, 0, 12);
  let p = 20;
  for (const a of attrs) {
    out.writeUInt16BE(a.type, p);
    out.writeUInt16BE(a.value.length, p + 2);
    a.value.copy(out, p + 4);
    p += 4 + a.value.length + ((4 - (a.value.length % 4)) % 4);
  }
  if (key !== undefined) {
    out.writeUInt16BE(StunAttr.messageIntegrity, miAt);
    out.writeUInt16BE(20, miAt + 2);
    integrityOver(out, miAt, miAt + 24, key).copy(out, miAt + 4);
  }
  if (fingerprint) {
    out.writeUInt16BE(StunAttr.fingerprint, fpAt);
    out.writeUInt16BE(4, fpAt + 2);
    out.writeUInt32BE((crc32(out, 0, fpAt) ^ FINGERPRINT_XOR) >>> 0, fpAt + 4);
  }
  return out;
}

/** XOR-MAPPED-ADDRESS value for ip:port (IPv4 or IPv6). */
export function xorAddress(ip: string, port: number, transactionId: Buffer): Buffer {
  const v6 = net.isIPv6(ip) && !/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip);
  const addr = v6 ? ipv6Bytes(ip) : ipv4Bytes(ip.replace(/^::ffff:/i, ''));
  const out = Buffer.alloc(4 + addr.length);
  out[1] = v6 ? 2 : 1;
  out.writeUInt16BE((port ^ (MAGIC_COOKIE >>> 16)) & 0xffff, 2);
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4, 0, 12);
  for (let i = 0; i < addr.length; i++) out[4 + i] = addr[i]! ^ mask[i]!;
  return out;
}

/** Reads an XOR-MAPPED-ADDRESS value back to ip:port. */
export function readXorAddress(value: Buffer, transactionId: Buffer): { ip: string; port: number } | undefined {
  if (value.length < 8) return undefined;
  const family = value[1];
  const port = value.readUInt16BE(2) ^ (MAGIC_COOKIE >>> 16);
  const mask = Buffer.alloc(16);
  mask.writeUInt32BE(MAGIC_COOKIE, 0);
  transactionId.copy(mask, 4, 0, 12);
  if (family === 1) return { ip: [0, 1, 2, 3].map((i) => value[4 + i]! ^ mask[i]!).join('.'), port };
  if (family === 2 && value.length >= 20) {
    const words: string[] = [];
    for (let i = 0; i < 16; i += 2) words.push((((value[4 + i]! ^ mask[i]!) << 8) | (value[5 + i]! ^ mask[i + 1]!)).toString(16));
    return { ip: words.join(':'), port };
  }
  return undefined;
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map((x) => Number(x) & 0xff));
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').filter(Boolean) : []);
  const h = parse(head);
  const t = parse(tail);
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.slice(0, 8).forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}

/** The Binding success response ICE-lite sends: XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY (our password), FINGERPRINT. */
export function bindingSuccess(transactionId: Buffer, ip: string, port: number, password: string): Buffer {
  return buildStun(StunType.bindingSuccess, transactionId, [{ type: StunAttr.xorMappedAddress, value: xorAddress(ip, port, transactionId) }], password);
}

/** A Binding request as an ICE agent sends it to us (USERNAME `remote:local`, PRIORITY, USE-CANDIDATE). */
export function bindingRequest(transactionId: Buffer, username: string, password: string, useCandidate = true): Buffer {
  const priority = Buffer.alloc(4);
  priority.writeUInt32BE(0x6e0001ff);
  const controlling = Buffer.alloc(8, 1);
  const attrs: StunBuildAttribute[] = [
    { type: StunAttr.username, value: Buffer.from(username) },
    { type: StunAttr.priority, value: priority },
    { type: StunAttr.iceControlling, value: controlling },
  ];
  if (useCandidate) attrs.push({ type: StunAttr.useCandidate, value: Buffer.alloc(0) });
  return buildStun(StunType.bindingRequest, transactionId, attrs, password);
}
