import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { parseRtmpUrl } from '../client/rtmp-url.js';
import { TAG_HEADER_SIZE } from '../protocol/flv.js';
import { encodeChunks } from '../protocol/rtmp/chunk-writer.js';
import { acknowledgement, command, pingResponse, setBufferLength } from '../protocol/rtmp/control.js';
import { ChunkStreamId, MessageType, UserControlEvent } from '../protocol/rtmp/message.js';
import { ChunkReader } from '../protocol/rtmp/chunk-reader.js';
import type { ReadPacer } from './read-pacer.js';

/** What one load-tool player reports. */
export interface PlayerState {
  connectedAt: number;
  /** ms from connect start to the first video frame, or -1 */
  startupMs: number;
  /** first video frame: wall clock and stream timestamp */
  firstWall: number;
  firstTs: number;
  /** latest media timestamp and when it arrived */
  lastTs: number;
  lastWall: number;
  bytes: number;
  alive: boolean;
  failed: boolean;
  error?: string;
}

export interface LoadPlayer {
  state: PlayerState;
  start(): void;
  stop(): void;
}

function newState(): PlayerState {
  return { connectedAt: 0, startupMs: -1, firstWall: 0, firstTs: 0, lastTs: 0, lastWall: 0, bytes: 0, alive: false, failed: false };
}

/** One read buffer for every RTMP player of the process: a read is handled before the next one lands. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Everything but the control messages a player acts on (chunk size, abort, window ack size, ping) is skipped. */
function skipsPayload(type: number): boolean {
  return type !== MessageType.SetChunkSize && type !== MessageType.Abort && type !== MessageType.WindowAckSize && type !== MessageType.UserControl;
}

function onMedia(s: PlayerState, type: number, timestamp: number): void {
  const now = Date.now();
  if (type === MessageType.Video && s.startupMs < 0) {
    s.startupMs = now - s.connectedAt;
    s.firstWall = now;
    s.firstTs = timestamp;
  }
  if (s.startupMs >= 0 && (type === MessageType.Video || type === MessageType.Audio)) {
    s.lastTs = timestamp;
    s.lastWall = now;
  }
}

/**
 * A minimal RTMP player for load: simple handshake, then connect / createStream / play sent
 * back to back (servers answer createStream with stream id 1), then a ChunkReader in skip mode follows
 * the stream without copying payloads. Answers pings and sends acknowledgements.
 */
export function rtmpLoadPlayer(url: string, pacer?: ReadPacer): LoadPlayer {
  const u = parseRtmpUrl(url);
  const state = newState();
  let socket: net.Socket | undefined;
  let stopped = false;
  return {
    state,
    start() {
      state.connectedAt = Date.now();
      const s: net.Socket = net.connect({
        host: u.host,
        port: u.port,
        // reads land in one buffer shared by every player (nothing is kept from it between reads)
        onread: {
          buffer: READ_BUFFER,
          callback: (n: number, buf: Uint8Array) => {
            onData(Buffer.from(buf.buffer, buf.byteOffset, n));
            if (pacer === undefined || pacer.intervalMs <= 0 || s.destroyed) return true;
            pacer.paused(s); // returning false pauses the socket; the pacer resumes it
            return false;
          },
        },
      });
      socket = s;
      let hs: Buffer | null = Buffer.alloc(0);
      let window = 0;
      let received = 0;
      let lastAck = 0;
      const send = (m: Parameters<typeof encodeChunks>[0]) => s.write(encodeChunks(m, 128));
      // follow the stream without copying media: only the control messages a player must answer are read
      const reader = new ChunkReader(
        (m) => {
          if (m.type === MessageType.WindowAckSize && m.payload.length >= 4) window = m.payload.readUInt32BE(0);
          else if (m.type === MessageType.UserControl && m.payload.length >= 6 && m.payload.readUInt16BE(0) === UserControlEvent.PingRequest) {
            send(pingResponse(m.payload.readUInt32BE(2)));
          }
        },
        {},
        { skip: skipsPayload, onSkipped: (type, ts) => onMedia(state, type, ts) },
      );
      s.on('connect', () => {
        state.alive = true;
        const c0c1 = randomBytes(1537);
        c0c1[0] = 3;
        c0c1.fill(0, 1, 9);
        s.write(c0c1);
      });
      const onData = (d: Buffer) => {
        state.bytes += d.length;
        try {
          if (hs) {
            hs = Buffer.concat([hs, d]); // a copy: `d` is the shared read buffer
            if (hs.length < 3073) return;
            s.write(hs.subarray(1, 1537)); // C2 = S1
            const rest = hs.subarray(3073);
            hs = null;
            send(command('connect', 1, { app: u.app, flashVer: 'LNX 9,0,124,2', tcUrl: u.tcUrl, fpad: false, capabilities: 15, audioCodecs: 3191, videoCodecs: 252, videoFunction: 1 }));
            send(command('createStream', 2, null));
            send(command('play', 0, null, [u.stream, -1000], 1, ChunkStreamId.OverStream));
            send(setBufferLength(1, 1000));
            if (rest.length === 0) return;
            d = rest;
          }
          received += d.length;
          reader.push(d);
          if (window > 0 && received - lastAck >= window / 2) {
            lastAck = received;
            send(acknowledgement(received >>> 0));
          }
        } catch (e) {
          state.failed = true;
          state.error = (e as Error).message;
          s.destroy();
        }
      };
      s.on('error', (e) => {
        state.failed = true;
        state.error ??= e.message;
      });
      s.on('close', () => {
        if (state.alive && !stopped) {
          state.failed = true;
          state.error ??= 'closed by the server';
        }
        state.alive = false;
      });
    },
    stop() {
      stopped = true;
      socket?.destroy();
    },
  };
}
/** An HTTP-FLV player for load: follows FLV tag headers, skipping payloads. */
export function flvLoadPlayer(url: string, pacer?: ReadPacer): LoadPlayer {
  const state = newState();
  let req: http.ClientRequest | undefined;
  let stoppedHere = false;
  return {
    state,
    start() {
      state.connectedAt = Date.now();
      req = http.get(url, { agent: false }, (res) => {
        if (res.statusCode !== 200) {
          state.failed = true;
          state.error = `HTTP ${res.statusCode}`;
          res.destroy();
          return;
        }
        state.alive = true;
        let skip = 13; // FLV header + PreviousTagSize0
        const head = Buffer.allocUnsafe(TAG_HEADER_SIZE);
        let headLen = 0;
        res.on('data', (d: Buffer) => {
          state.bytes += d.length;
          let pos = 0;
          while (pos < d.length) {
            if (skip > 0) {
              const n = Math.min(skip, d.length - pos);
              skip -= n;
              pos += n;
              continue;
            }
            const n = Math.min(TAG_HEADER_SIZE - headLen, d.length - pos);
            d.copy(head, headLen, pos, pos + n);
            headLen += n;
            pos += n;
            if (headLen < TAG_HEADER_SIZE) break;
            headLen = 0;
            const size = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
            const ts = ((head[7]! << 24) | (head[4]! << 16) | (head[5]! << 8) | head[6]!) >>> 0;
            onMedia(state, head[0]! & 0x1f, ts);
            skip = size + 4;
          }
          pacer?.hold(res);
        });
        res.on('close', () => {
          if (!stoppedHere) {
            state.failed = true;
            state.error ??= 'closed by the server';
          }
          state.alive = false;
        });
      });
      req.on('error', (e) => {
        state.failed = true;
        state.error ??= e.message;
        state.alive = false;
      });
    },
    stop() {
      stoppedHere = true;
      req?.destroy();
    },
  };
}
