/**
 * The native WebRTC fan-out (SRTP on node's OpenSSL + sendmmsg in native/src/srsx_native.c) against the JS SRTP of
 * src/protocol/rtc/srtp.ts: for the same keys and the same packets (sequence numbers crossing the
 * 16-bit wrap, so the ROC moves, and a jump near the start that must not move it below 0; CSRCs; a header extension the fan-out drops), every datagram the
 * native path sends over loopback is byte for byte what the JS path protects, and JS unprotects it.
 * The addon must be built (npm install does; SRSX_NO_SRTP=1 leaves the fan-out out): no skip.
 */
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { SRTP_AUTH_TAG, SrtpContext } from '../../src/protocol/rtc/srtp.js';
import { dgramFd, loadRtcNative, NativeFanout, type NativeRtc } from '../../src/server/rtc/native-fanout.js';

function plainPacket(seq: number, ts: number, opts: { csrc?: number; ext?: boolean; marker?: boolean; size: number }): Buffer {
  const csrc = opts.csrc ?? 0;
  const extWords = opts.ext ? 2 : 0;
  const hl = 12 + csrc * 4;
  const p = Buffer.alloc(hl + (opts.ext ? 4 + extWords * 4 : 0) + opts.size);
  p[0] = 0x80 | (opts.ext ? 0x10 : 0) | csrc;
  p[1] = (opts.marker ? 0x80 : 0) | 102;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(0x11223344, 8);
  for (let i = 0; i < csrc; i++) p.writeUInt32BE(0xc0000000 + i, 12 + i * 4);
  if (opts.ext) {
    p.writeUInt16BE(0xbede, hl);
    p.writeUInt16BE(extWords, hl + 2);
    p.fill(0x77, hl + 4, hl + 4 + extWords * 4);
  }
  randomBytes(opts.size).copy(p, p.length - opts.size);
  return p;
}

/** What RtcSession.sendMedia protects: the header without extension, the player's SSRC/PT. */
function rewritten(pkt: Buffer, ssrc: number, pt: number): { buf: Buffer; hl: number } {
  const hl = 12 + (pkt[0]! & 0x0f) * 4;
  const payload = pkt[0]! & 0x10 ? hl + 4 + pkt.readUInt16BE(hl + 2) * 4 : hl;
  const buf = Buffer.alloc(hl + pkt.length - payload);
  pkt.copy(buf, 0, 0, hl);
  buf[0] = pkt[0]! & 0xef;
  buf[1] = (pkt[1]! & 0x80) | pt;
  buf.writeUInt32BE(ssrc, 8);
  pkt.copy(buf, hl, payload);
  return { buf, hl };
}

function bind(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve) => s.bind(0, '127.0.0.1', () => resolve(s)));
}

describe('native SRTP fan-out (OpenSSL AES-CTR/HMAC-SHA1, sendmmsg)', () => {
  const state = loadRtcNative({});
  let sender: dgram.Socket;
  let receivers: dgram.Socket[] = [];

  beforeAll(async () => {
    sender = await bind();
    receivers = [await bind(), await bind()];
  });
  afterAll(async () => {
    for (const s of [sender, ...receivers]) await new Promise<void>((r) => s.close(() => r()));
  });

  it('is available (the addon\'s SRTP on node\'s OpenSSL) and finds the socket fd', () => {
    expect(state).toMatchObject({ ok: true, version: expect.stringMatching(/^AES-CM\/HMAC-SHA1 on OpenSSL 3\./) });
    expect(dgramFd(sender)).toBeGreaterThan(2);
  });

  it('sends what the JS SRTP protects, byte for byte, across the sequence wrap; JS unprotects it', async () => {
    if (!state.ok) throw new Error(state.reason);
    const native: NativeRtc = state.native;
    const players = receivers.map((r, i) => ({
      key: randomBytes(16), salt: randomBytes(14), ssrc: (0xa0000000 + i) >>> 0, pt: 96 + i * 10,
      port: r.address().port, got: [] as Buffer[],
    }));
    players.forEach((p, i) => receivers[i]!.on('message', (m) => p.got.push(m)));
    let batches = 0, lost = 0, bytes = 0;
    const fan = new NativeFanout(native, dgramFd(sender), (n, b, l) => { batches++; bytes += b; lost += l; });
    const outs = players.map((p) => {
      const o = fan.create(p.key, p.salt);
      expect(fan.setPeer(o, '127.0.0.1', p.port)).toBe(true);
      return o;
    });
    // first a jump of more than 2^15 near the start of the stream (ROC 0 stays 0: no index below 0), then the wrap
    const packets: Buffer[] = [plainPacket(100, 1000, { size: 80 }), plainPacket(40000, 4000, { size: 90 })];
    for (let i = 0; i < 40; i++) {
      packets.push(plainPacket(65516 + i, 90000 + i * 3000, { csrc: i % 3 === 0 ? 1 : 0, ext: i % 2 === 0, marker: i % 5 === 0, size: 100 + i * 29 }));
    }
    for (const pkt of packets) {
      players.forEach((p, i) => fan.queue(outs[i]!, p.ssrc, p.pt, pkt, 1));
    }
    fan.flush();
    expect(batches).toBe(packets.length);
    expect(lost).toBe(0);
    expect(bytes).toBe(packets.length * players.length);
    const deadline = Date.now() + 3000;
    while (players.some((p) => p.got.length < packets.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const p of players) {
      expect(p.got).toHaveLength(packets.length);
      const js = new SrtpContext(p.key, p.salt);
      const rx = new SrtpContext(p.key, p.salt);
      packets.forEach((pkt, i) => {
        const { buf, hl } = rewritten(pkt, p.ssrc, p.pt);
        const out = Buffer.alloc(buf.length + SRTP_AUTH_TAG);
        buf.copy(out);
        js.protectRtpInPlace(out, buf.length, hl);
        expect(p.got[i]!.equals(out)).toBe(true);
        expect(rx.unprotectRtp(p.got[i]!)?.equals(buf)).toBe(true);
      });
    }
    // a closed context sends nothing and counts as a loss; the other player still gets its packet
    fan.close(outs[0]!);
    const before = players[1]!.got.length;
    fan.queue(outs[0]!, players[0]!.ssrc, players[0]!.pt, packets[0]!, 1);
    fan.queue(outs[1]!, players[1]!.ssrc, players[1]!.pt, plainPacket(30, 1, { size: 50 }), 1);
    fan.flush();
    expect(lost).toBe(1);
    const until = Date.now() + 2000;
    while (players[1]!.got.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(players[1]!.got.length).toBe(before + 1);
    fan.close(outs[1]!);
  });
});
