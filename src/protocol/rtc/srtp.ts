/**
 * SRTP / SRTCP with AES_CM_128_HMAC_SHA1_80 (RFC 3711): key derivation (kdr 0), AES counter mode,
 * HMAC-SHA1 tags truncated to 80 bits, the rollover counter per SSRC (RFC 3711 3.3.1 index estimate),
 * and on receive a replay window per SSRC (3.3.2 / 3.4, src/protocol/rtc/replay-window.ts): 8,192
 * SRTP packets (SRS gives libsrtp that size, so NACKed retransmissions still arrive inside it), 128
 * SRTCP packets (libsrtp's). One SrtpContext holds one direction's session keys (a WebRTC session has one to protect what it
 * sends and one to unprotect what it receives).
 *
 * Speed: the keystream comes from one reused AES-128-ECB cipher over counter blocks (one native call
 * per packet instead of a createCipheriv), XORed in JS; the tag is one createHmac. See
 * test/unit/rtc-srtp.test.ts for the vectors and docs/server.md for the measured per-packet cost.
 */
import { createCipheriv, createHmac, timingSafeEqual, type Cipher } from 'node:crypto';
import { estimateSrtpIndex, ReplayWindow } from './replay-window.js';

export const SRTP_AUTH_TAG = 10;
export const SRTP_MASTER_KEY = 16;
export const SRTP_MASTER_SALT = 14;
/** receive replay windows, in packets */
export const SRTP_REPLAY_WINDOW = 8192;
export const SRTCP_REPLAY_WINDOW = 128;
/** SSRCs one context keeps receive state for; packets of more SSRCs are refused (a window is 1 KB) */
export const SRTP_MAX_RECV_SSRCS = 64;

/** Why the last unprotect returned undefined. */
export type SrtpFailure = 'none' | 'malformed' | 'auth' | 'replay' | 'ssrcs';

/** AES-CM PRF of RFC 3711 4.3.1 with kdr 0: `length` bytes for `label`. */
export function deriveKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  iv[7] = iv[7]! ^ label; // key_id = label || r(=0), right-aligned in the 112-bit salt
  const blocks = Math.ceil(length / 16);
  const input = Buffer.alloc(blocks * 16);
  for (let b = 0; b < blocks; b++) {
    iv.copy(input, b * 16, 0, 14);
    input.writeUInt16BE(b, b * 16 + 14);
  }
  const ecb = createCipheriv('aes-128-ecb', masterKey, null);
  ecb.setAutoPadding(false);
  return ecb.update(input).subarray(0, length);
}

const MAX_BLOCKS = 4096; // 64 KB payloads

class Keystream {
  private readonly ecb: Cipher;
  private blocks = Buffer.alloc(16 * 96);

  constructor(key: Buffer) {
    this.ecb = createCipheriv('aes-128-ecb', key, null);
    this.ecb.setAutoPadding(false);
    this.presetCounters(0);
  }

  private presetCounters(from: number): void {
    for (let b = from; b < this.blocks.length / 16; b++) this.blocks.writeUInt16BE(b, b * 16 + 14);
  }

  /** XORs buf[start, end) with the keystream of the 14-byte `iv` prefix (counter blocks iv||0, iv||1, ...). */
  xor(buf: Buffer, start: number, end: number, iv: Buffer): void {
    const n = end - start;
    if (n <= 0) return;
    const nb = (n + 15) >>> 4;
    if (nb > MAX_BLOCKS) throw new RangeError('SRTP payload too large');
    if (nb * 16 > this.blocks.length) {
      const old = this.blocks.length / 16;
      const grown = Buffer.alloc(Math.max(nb, old * 2) * 16);
      this.blocks = grown;
      this.presetCounters(0);
      void old;
    }
    const blocks = this.blocks;
    const i0 = iv[0]!, i1 = iv[1]!, i2 = iv[2]!, i3 = iv[3]!, i4 = iv[4]!, i5 = iv[5]!, i6 = iv[6]!;
    const i7 = iv[7]!, i8 = iv[8]!, i9 = iv[9]!, i10 = iv[10]!, i11 = iv[11]!, i12 = iv[12]!, i13 = iv[13]!;
    for (let b = 0, o = 0; b < nb; b++, o += 16) {
      blocks[o] = i0; blocks[o + 1] = i1; blocks[o + 2] = i2; blocks[o + 3] = i3; blocks[o + 4] = i4;
      blocks[o + 5] = i5; blocks[o + 6] = i6; blocks[o + 7] = i7; blocks[o + 8] = i8; blocks[o + 9] = i9;
      blocks[o + 10] = i10; blocks[o + 11] = i11; blocks[o + 12] = i12; blocks[o + 13] = i13;
    }
    const ks = this.ecb.update(nb * 16 === blocks.length ? blocks : blocks.subarray(0, nb * 16));
    for (let i = 0; i < n; i++) buf[start + i] = buf[start + i]! ^ ks[i]!;
  }
}

export class SrtpContext {
  private readonly rtpStream: Keystream;
  private readonly rtpAuth: Buffer;
  private readonly rtpSalt: Buffer;
  private readonly rtcpStream: Keystream;
  private readonly rtcpAuth: Buffer;
  private readonly rtcpSalt: Buffer;
  /** send: the highest index sent of each SSRC (a resent packet keeps the ROC of its time, RFC 3711 3.3.1) */
  private readonly sentTop = new Map<number, number>();
  /** receive: the replay window of each SSRC (its top is the highest accepted index, so also the ROC state) */
  private readonly rtpWindows = new Map<number, ReplayWindow>();
  private readonly rtcpWindows = new Map<number, ReplayWindow>();
  private rtcpIndex = 0;
  /** why the last unprotectRtp/unprotectRtcp returned undefined ('none' after one that succeeded) */
  lastFailure: SrtpFailure = 'none';
  private readonly iv = Buffer.alloc(14);
  private readonly rocBytes = Buffer.alloc(4);

  constructor(masterKey: Buffer, masterSalt: Buffer) {
    if (masterKey.length !== SRTP_MASTER_KEY || masterSalt.length !== SRTP_MASTER_SALT) {
      throw new RangeError(`SRTP master key/salt must be ${SRTP_MASTER_KEY}/${SRTP_MASTER_SALT} bytes`);
    }
    this.rtpStream = new Keystream(deriveKey(masterKey, masterSalt, 0, 16));
    this.rtpAuth = deriveKey(masterKey, masterSalt, 1, 20);
    this.rtpSalt = deriveKey(masterKey, masterSalt, 2, 14);
    this.rtcpStream = new Keystream(deriveKey(masterKey, masterSalt, 3, 16));
    this.rtcpAuth = deriveKey(masterKey, masterSalt, 4, 20);
    this.rtcpSalt = deriveKey(masterKey, masterSalt, 5, 14);
  }

  /** IV prefix (14 bytes; the low 16 bits are the block counter): salt ^ (ssrc << 64) ^ (index << 16). */
  private makeIv(salt: Buffer, ssrc: number, indexHigh: number, indexLow: number): Buffer {
    const iv = this.iv;
    salt.copy(iv, 0, 0, 14);
    iv[4] = iv[4]! ^ (ssrc >>> 24);
    iv[5] = iv[5]! ^ ((ssrc >>> 16) & 0xff);
    iv[6] = iv[6]! ^ ((ssrc >>> 8) & 0xff);
    iv[7] = iv[7]! ^ (ssrc & 0xff);
    // 48-bit index = indexHigh (32 bits, the ROC or 0) << 16 | indexLow (16 bits)
    iv[8] = iv[8]! ^ (indexHigh >>> 24);
    iv[9] = iv[9]! ^ ((indexHigh >>> 16) & 0xff);
    iv[10] = iv[10]! ^ ((indexHigh >>> 8) & 0xff);
    iv[11] = iv[11]! ^ (indexHigh & 0xff);
    iv[12] = iv[12]! ^ (indexLow >>> 8);
    iv[13] = iv[13]! ^ (indexLow & 0xff);
    return iv;
  }

  private tag(key: Buffer, buf: Buffer, end: number, roc: number | undefined): Buffer {
    const h = createHmac('sha1', key).update(buf.subarray(0, end));
    if (roc !== undefined) {
      this.rocBytes.writeUInt32BE(roc, 0);
      h.update(this.rocBytes);
    }
    return h.digest();
  }

  /**
   * Protects an RTP packet laid out in `out[0, len)` (header + plain payload) in place and appends the
   * 10-byte tag: `out` must have room for len + 10. Returns the SRTP length.
   */
  protectRtpInPlace(out: Buffer, len: number, headerLen: number): number {
    const seq = out.readUInt16BE(2);
    const ssrc = out.readUInt32BE(8);
    // the same index estimate as on receive: at ROC 0 a sequence number far ahead keeps ROC 0 (libsrtp)
    const top = this.sentTop.get(ssrc) ?? -1;
    const index = estimateSrtpIndex(top, seq);
    if (index > top) this.sentTop.set(ssrc, index);
    const roc = Math.floor(index / 0x10000) >>> 0;
    this.rtpStream.xor(out, headerLen, len, this.makeIv(this.rtpSalt, ssrc, roc, seq));
    this.tag(this.rtpAuth, out, len, roc).copy(out, len, 0, SRTP_AUTH_TAG);
    return len + SRTP_AUTH_TAG;
  }

  /** Protects a plain RTP packet into a new Buffer. */
  protectRtp(packet: Buffer): Buffer {
    const hl = rtpHeaderLength(packet);
    if (hl < 0) throw new RangeError('not an RTP packet');
    const out = Buffer.allocUnsafe(packet.length + SRTP_AUTH_TAG);
    packet.copy(out);
    this.protectRtpInPlace(out, packet.length, hl);
    return out;
  }

  /**
   * Checks and decrypts an SRTP packet; a new Buffer with the plain RTP, or undefined (malformed, bad
   * tag, a replay or older than the window: `lastFailure` says which).
   */
  unprotectRtp(packet: Buffer): Buffer | undefined {
    if (packet.length < 12 + SRTP_AUTH_TAG) return this.fail('malformed');
    const len = packet.length - SRTP_AUTH_TAG;
    const hl = rtpHeaderLength(packet.subarray(0, len));
    if (hl < 0) return this.fail('malformed');
    const seq = packet.readUInt16BE(2);
    const ssrc = packet.readUInt32BE(8);
    const win = this.rtpWindows.get(ssrc);
    const index = estimateSrtpIndex(win ? win.top : -1, seq);
    const roc = Math.floor(index / 0x10000) >>> 0;
    const tag = this.tag(this.rtpAuth, packet, len, roc);
    if (!timingSafeEqual(tag.subarray(0, SRTP_AUTH_TAG), packet.subarray(len))) return this.fail('auth');
    const w = win ?? this.newWindow(this.rtpWindows, ssrc, SRTP_REPLAY_WINDOW);
    if (!w) return this.fail('ssrcs');
    if (!w.check(index)) return this.fail('replay');
    w.accept(index);
    this.lastFailure = 'none';
    const out = Buffer.allocUnsafe(len);
    packet.copy(out, 0, 0, len);
    this.rtpStream.xor(out, hl, len, this.makeIv(this.rtpSalt, ssrc, roc, seq));
    return out;
  }

  private fail(why: SrtpFailure): undefined {
    this.lastFailure = why;
    return undefined;
  }

  private newWindow(map: Map<number, ReplayWindow>, ssrc: number, size: number): ReplayWindow | undefined {
    if (map.size >= SRTP_MAX_RECV_SSRCS) return undefined;
    const w = new ReplayWindow(size);
    map.set(ssrc, w);
    return w;
  }

  /** Protects a (compound) RTCP packet: encrypted after the first 8 bytes, E|index, tag. */
  protectRtcp(packet: Buffer): Buffer {
    if (packet.length < 8) throw new RangeError('RTCP packet too short');
    const index = (this.rtcpIndex = (this.rtcpIndex + 1) & 0x7fffffff);
    const out = Buffer.allocUnsafe(packet.length + 4 + SRTP_AUTH_TAG);
    packet.copy(out);
    const ssrc = out.readUInt32BE(4);
    this.rtcpStream.xor(out, 8, packet.length, this.makeIv(this.rtcpSalt, ssrc, index >>> 16, index & 0xffff));
    out.writeUInt32BE((0x80000000 | index) >>> 0, packet.length);
    this.tag(this.rtcpAuth, out, packet.length + 4, undefined).copy(out, packet.length + 4, 0, SRTP_AUTH_TAG);
    return out;
  }

  /** Checks and decrypts an SRTCP packet (replays refused per sender SSRC by the SRTCP index), as unprotectRtp. */
  unprotectRtcp(packet: Buffer): Buffer | undefined {
    if (packet.length < 8 + 4 + SRTP_AUTH_TAG) return this.fail('malformed');
    const end = packet.length - SRTP_AUTH_TAG;
    const tag = this.tag(this.rtcpAuth, packet, end, undefined);
    if (!timingSafeEqual(tag.subarray(0, SRTP_AUTH_TAG), packet.subarray(end))) return this.fail('auth');
    const ei = packet.readUInt32BE(end - 4);
    const index = ei & 0x7fffffff;
    const ssrc = packet.readUInt32BE(4);
    const w = this.rtcpWindows.get(ssrc) ?? this.newWindow(this.rtcpWindows, ssrc, SRTCP_REPLAY_WINDOW);
    if (!w) return this.fail('ssrcs');
    if (!w.check(index)) return this.fail('replay');
    w.accept(index);
    this.lastFailure = 'none';
    const len = end - 4;
    const out = Buffer.allocUnsafe(len);
    packet.copy(out, 0, 0, len);
    if (ei & 0x80000000) {
      this.rtcpStream.xor(out, 8, len, this.makeIv(this.rtcpSalt, ssrc, index >>> 16, index & 0xffff));
    }
    return out;
  }
}

/** Length of an RTP packet's header (fixed part, CSRCs, extension); -1 when malformed. */
export function rtpHeaderLength(p: Buffer): number {
  if (p.length < 12 || p[0]! >> 6 !== 2) return -1;
  let n = 12 + (p[0]! & 0x0f) * 4;
  if (p[0]! & 0x10) {
    if (p.length < n + 4) return -1;
    n += 4 + p.readUInt16BE(n + 2) * 4;
  }
  return n <= p.length ? n : -1;
}
