// werift 0.22 peers for the WebRTC tests: a WHIP publisher that writes RTP we generate, a WHEP player
// that counts what it decrypts. Everything on 127.0.0.1.
import dgram from 'node:dgram';
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from 'werift';
import { buildStun, StunAttr, StunType, parseStun, xorAddress } from '../../src/protocol/rtc/stun.js';

export const H264 = () =>
  new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90000,
    rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }],
    parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  });
export const OPUS = () => new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 });

/**
 * Closes every UDP socket still open in this process: werift 0.22 leaves some open after pc.close()
 * (jest's module sandbox keeps them out of reach otherwise), and jest cannot exit while they are.
 */
export function closeAllUdpSockets(): void {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  for (const h of handles) {
    if (h instanceof dgram.Socket || (h && typeof (h as dgram.Socket).setBroadcast === 'function' && typeof (h as dgram.Socket).close === 'function')) {
      try {
        (h as dgram.Socket).close();
      } catch {
        /* closed */
      }
    }
  }
}

/**
 * werift's ICE falls back to a public STUN server when none is configured (and waits 5 s for it): the
 * tests give it this one on 127.0.0.1, which answers every Binding request with the source address.
 */
let loopbackStun: { socket: dgram.Socket; port: number } | undefined;
export async function startLoopbackStun(): Promise<number> {
  if (loopbackStun) return loopbackStun.port;
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, r) => {
    const m = parseStun(msg);
    if (!m || m.type !== StunType.bindingRequest) return;
    socket.send(buildStun(StunType.bindingSuccess, m.transactionId, [{ type: StunAttr.xorMappedAddress, value: xorAddress(r.address, r.port, m.transactionId) }]), r.port, r.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  loopbackStun = { socket, port: socket.address().port };
  return loopbackStun.port;
}
/** Stops the loopback STUN server and closes every UDP socket left (call in afterAll). */
export function stopLoopbackStun(): void {
  loopbackStun = undefined;
  closeAllUdpSockets();
}

/** Loopback only: the loopback STUN server above, IPv4. */
export function peerConfig() {
  if (!loopbackStun) throw new Error('call startLoopbackStun() first (beforeAll)');
  return { codecs: { video: [H264()], audio: [OPUS()] }, iceServers: [{ urls: `stun:127.0.0.1:${loopbackStun.port}` }], iceUseIpv6: false };
}

/** Closes a peer: pc.close() (bounded), then the UDP sockets it had (werift leaves some open after close()). */
export async function closePeer(pc: RTCPeerConnection): Promise<void> {
  const sockets = udpSockets(pc);
  await Promise.race([pc.close().catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
  for (const s of sockets) {
    try {
      s.close();
    } catch {
      /* already closed */
    }
  }
}

async function gathered(pc: RTCPeerConnection): Promise<void> {
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && resolve());
  });
}

/**
 * POSTs the offer; returns the answer's Location (WHIP/WHEP) after setting the answer. `setup: 'passive'`
 * sends the offer with a=setup:passive instead of actpass, as FFmpeg's WHIP muxer does (and srs-bench's
 * "client passive" cases): the server must answer active and start the DTLS handshake; werift takes the
 * DTLS server role from that answer.
 */
export async function negotiate(pc: RTCPeerConnection, url: string, setup: 'actpass' | 'passive' = 'actpass'): Promise<string> {
  await gathered(pc);
  const offer = pc.localDescription!.sdp.replace(/^a=setup:actpass$/gm, `a=setup:${setup}`);
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${url}: HTTP ${res.status}: ${text}`);
  await pc.setRemoteDescription({ type: 'answer', sdp: text });
  return res.headers.get('location')!;
}

export function connected(pc: RTCPeerConnection, timeoutMs = 10_000, what = 'peer'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pc.connectionState === 'connected') return resolve();
    const t = setTimeout(() => reject(new Error(`${what} not connected in ${timeoutMs} ms (${pc.connectionState})`)), timeoutMs);
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected') {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

export class Publisher {
  readonly pc = new RTCPeerConnection(peerConfig());
  readonly video = new MediaStreamTrack({ kind: 'video' });
  readonly audio = new MediaStreamTrack({ kind: 'audio' });
  /** RTCP the publisher received: PSFB (PLI/FIR) and RTPFB (NACK) counts */
  plis = 0;
  nacks = 0;
  private seq = 0;
  private frame = 0;
  location = '';

  constructor() {
    this.pc.addTransceiver(this.video, { direction: 'sendonly' });
    this.pc.addTransceiver(this.audio, { direction: 'sendonly' });
    this.pc.getSenders()[0]!.onRtcp.subscribe((r) => {
      if (r.type === 206) this.plis++;
      if (r.type === 205) this.nacks++;
    });
  }

  async publish(url: string, setup: 'actpass' | 'passive' = 'actpass'): Promise<void> {
    this.location = await negotiate(this.pc, url, setup);
    await connected(this.pc, 10_000, 'publisher');
  }

  /** One video "frame" (one RTP packet, marker set, dummy payload) and one audio packet. */
  sendFrame(size = 600): void {
    const i = this.frame++;
    this.video.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: this.seq++ & 0xffff, timestamp: i * 3600, marker: true, ssrc: 1 }), Buffer.alloc(size, i & 0xff)));
    this.audio.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 111, sequenceNumber: i & 0xffff, timestamp: i * 960, ssrc: 2 }), Buffer.alloc(80, 7)));
  }

  /** Sends `n` frames every `everyMs`. */
  async sendFrames(n: number, everyMs = 10): Promise<void> {
    for (let i = 0; i < n; i++) {
      this.sendFrame();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  async close(): Promise<void> {
    await closePeer(this.pc);
  }
}

export class Player {
  readonly pc = new RTCPeerConnection(peerConfig());
  readonly got = { video: 0, audio: 0 };
  /** the last video sequence numbers received */
  readonly videoSeqs: number[] = [];
  videoSsrc = 0;
  location = '';

  constructor() {
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.onTrack.subscribe((t) =>
      t.onReceiveRtp.subscribe((rtp) => {
        this.got[t.kind as 'video' | 'audio']++;
        if (t.kind === 'video') {
          this.videoSsrc = rtp.header.ssrc;
          this.videoSeqs.push(rtp.header.sequenceNumber);
          if (this.videoSeqs.length > 1000) this.videoSeqs.shift();
        }
      }),
    );
  }

  async play(url: string, setup: 'actpass' | 'passive' = 'actpass'): Promise<void> {
    this.location = await negotiate(this.pc, url, setup);
    await connected(this.pc, 10_000, 'player');
  }

  /** Sends an RTCP packet (plain werift RTCP object) over the player's DTLS transport. */
  async sendRtcp(packet: unknown): Promise<void> {
    await this.pc.dtlsTransports[0]!.sendRtcp([packet as never]);
  }

  async close(): Promise<void> {
    await closePeer(this.pc);
  }
}

function udpSockets(pc: RTCPeerConnection): Array<{ close(): void }> {
  const out: Array<{ close(): void }> = [];
  for (const t of pc.dtlsTransports) {
    const conn = (t.iceTransport as unknown as { connection?: { protocols?: Array<{ transport: { socket: { close(): void } } }> } }).connection;
    for (const p of conn?.protocols ?? []) out.push(p.transport.socket);
  }
  return out;
}

/** A peer that vanishes: its UDP sockets close without a DTLS alert or anything else. */
export function vanish(pc: RTCPeerConnection): void {
  for (const s of udpSockets(pc)) {
    try {
      s.close();
    } catch {
      /* closed */
    }
  }
}
