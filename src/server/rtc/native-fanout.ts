/**
 * The native WebRTC send path (native/src/srsx_native.c): per player an SRTP sender context in C
 * (AES-CM/HMAC-SHA1 on node's own OpenSSL); per stream packet ONE native call copies the plain RTP
 * packet for every player (their SSRC/PT), protects each copy and sends them all with one sendmmsg()
 * on the dgram socket's fd. The JS path (SrtpContext + dgram.send per packet) is the fallback: when
 * the addon was not built, was built with SRSX_NO_SRTP=1, or SRSX_RTC_NATIVE=0. SRTCP stays in JS.
 */
import type dgram from 'node:dgram';
import { loadNativeAddon } from '../../native/addon.js';

/** An opaque per-player SRTP sender context (a napi external). */
export type NativeRtcOut = object;

export interface NativeRtc {
  srtpVersion(): string;
  rtcOutCreate(key: Buffer, salt: Buffer): NativeRtcOut;
  rtcOutClose(out: NativeRtcOut): void;
  rtcOutSetPeer(out: NativeRtcOut, ipv4: string, port: number): boolean;
  /** returns how many datagrams the kernel took (the rest of `count` are send losses) */
  rtcFanout(fd: number, packet: Buffer, outs: NativeRtcOut[], ssrcs: Uint32Array, pts: Uint8Array, count: number): number;
}

export type RtcNativeState = { ok: true; native: NativeRtc; version: string } | { ok: false; reason: string };

/** Whether the native fan-out can run here, and why not. */
export function loadRtcNative(env: NodeJS.ProcessEnv = process.env): RtcNativeState {
  if (env.SRSX_RTC_NATIVE === '0') return { ok: false, reason: 'SRSX_RTC_NATIVE=0' };
  const a = loadNativeAddon();
  if (!a.ok) return { ok: false, reason: a.reason };
  const native = a.addon as unknown as Partial<NativeRtc>;
  if (typeof native.rtcFanout !== 'function' || typeof native.srtpVersion !== 'function') {
    return { ok: false, reason: 'the native addon was built without its SRTP fan-out (SRSX_NO_SRTP=1): npm run build:native' };
  }
  return { ok: true, native: native as NativeRtc, version: native.srtpVersion() };
}

/** The file descriptor of a bound dgram socket (Linux), or -1. */
export function dgramFd(sock: dgram.Socket): number {
  const rec = sock as unknown as Record<symbol, { handle?: { fd?: number } } | undefined>;
  for (const sym of Object.getOwnPropertySymbols(sock)) {
    if (sym.description !== 'state symbol') continue;
    const fd = rec[sym]?.handle?.fd;
    return typeof fd === 'number' ? fd : -1;
  }
  return -1;
}

const MAX_BATCH = 1024;

/**
 * Collects, for one packet of a stream, every player's (context, SSRC, PT) and sends them in one
 * native call: when another packet is queued, when the batch is full, or at the end of the current
 * turn of the event loop (a microtask).
 */
export class NativeFanout {
  private outs: NativeRtcOut[] = [];
  private readonly ssrcs = new Uint32Array(MAX_BATCH);
  private readonly pts = new Uint8Array(MAX_BATCH);
  private count = 0;
  private packet: Buffer | undefined;
  private scheduled = false;
  private readonly flushTask = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    readonly native: NativeRtc,
    private readonly fd: number,
    /** after each batch: datagrams and bytes queued, and how many were lost (EAGAIN/ENOBUFS, no peer, protect failed) */
    private readonly onBatch: (packets: number, bytes: number, lost: number) => void,
  ) {}

  create(key: Buffer, salt: Buffer): NativeRtcOut {
    return this.native.rtcOutCreate(key, salt);
  }

  setPeer(out: NativeRtcOut, address: string, port: number): boolean {
    return this.native.rtcOutSetPeer(out, address, port);
  }

  /** Frees the context now (a queued packet for it is skipped). */
  close(out: NativeRtcOut): void {
    this.native.rtcOutClose(out);
  }

  private bytes = 0;

  /** `wireBytes`: the SRTP datagram's size (for the counters) */
  queue(out: NativeRtcOut, ssrc: number, pt: number, packet: Buffer, wireBytes: number): void {
    if ((packet !== this.packet && this.count > 0) || this.count === MAX_BATCH) this.flush();
    this.packet = packet;
    const i = this.count++;
    this.outs[i] = out;
    this.ssrcs[i] = ssrc;
    this.pts[i] = pt;
    this.bytes += wireBytes;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.flushTask);
    }
  }

  flush(): void {
    const n = this.count;
    if (n === 0 || !this.packet) return;
    this.count = 0;
    const bytes = this.bytes;
    this.bytes = 0;
    const packet = this.packet;
    this.packet = undefined;
    let sent = 0;
    try {
      sent = this.native.rtcFanout(this.fd, packet, this.outs, this.ssrcs, this.pts, n);
    } finally {
      this.outs.length = 0;
      this.onBatch(n, bytes, n - sent);
    }
  }
}
