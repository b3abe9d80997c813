/**
 * `srsx serve` (bin/srsx) against RTMP peers that misbehave, then real tools: a second
 * publish/play on one connection, audio-only streams, a publisher that stops sending, and
 * random command sequences; afterwards the API is empty and ffmpeg publishes and plays.
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { decodeAmf0, type Amf0Object } from '../../src/protocol/amf0.js';
import { ChunkReader } from '../../src/protocol/rtmp/chunk-reader.js';
import { encodeChunks } from '../../src/protocol/rtmp/chunk-writer.js';
import { command } from '../../src/protocol/rtmp/control.js';
import { MessageType, type RtmpMessage } from '../../src/protocol/rtmp/message.js';
import { FlvDemuxer } from '../../src/protocol/flv.js';
import { itIf, SRSX_BIN } from '../helpers/env.js';
import { probeStreams } from '../helpers/media.js';
import { sleep, spawnTool, startServer, stopAfterEach, waitExit, type RunningServer } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe'] });

/** A raw RTMP peer over a simple handshake; records onStatus codes. */
class Raw {
  readonly statuses: string[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  private skip = 3073;
  private readonly reader = new ChunkReader((m) => {
    if (m.type !== MessageType.CommandAmf0) return;
    try {
      const v = decodeAmf0(m.payload);
      if (v[0] === 'onStatus') this.statuses.push(String((v[3] as Amf0Object | undefined)?.code));
    } catch {
      // not looked at
    }
  });

  constructor(readonly socket: net.Socket) {
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.on('close', () => {
      this.isClosed = true;
      r();
    }));
    socket.on('data', (d: Buffer) => {
      const n = Math.min(this.skip, d.length);
      this.skip -= n;
      if (d.length > n) {
        try {
          this.reader.push(d.subarray(n));
        } catch {
          // not looked at
        }
      }
    });
  }

  static async open(port: number): Promise<Raw> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
    const c0c1 = Buffer.alloc(1537);
    c0c1[0] = 3;
    socket.write(Buffer.concat([c0c1, Buffer.alloc(1536)]));
    return new Raw(socket);
  }

  send(msg: RtmpMessage): void {
    if (!this.socket.destroyed) this.socket.write(encodeChunks(msg, 128));
  }

  cmd(name: string, args: Array<string | number | boolean | null> = [], tx = 0): void {
    const onStream = !['connect', 'createStream', 'releaseStream', 'FCPublish', 'FCUnpublish', 'deleteStream'].includes(name);
    this.send(command(name, tx, name === 'connect' ? { app: 'live', tcUrl: 'rtmp://127.0.0.1/live' } : null, args, onStream ? 1 : 0, onStream ? 5 : 3));
  }

  async waitStatus(code: string, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!this.statuses.includes(code)) {
      if (Date.now() > end) throw new Error(`no ${code} within ${ms} ms; got ${this.statuses.join(', ')}`);
      await sleep(20);
    }
  }
}

async function api(server: RunningServer, what: 'streams' | 'clients'): Promise<Array<{ name?: string; id: string }>> {
  const body = (await (await fetch(`http://127.0.0.1:${server.api}/api/v1/${what}?count=1000`)).json()) as Record<string, unknown>;
  return body[what] as Array<{ name?: string; id: string }>;
}

/** ffmpeg publishes `seconds` of lavfi audio (and video unless audioOnly) to `url`. */
function ffmpegPublish(url: string, seconds: number, audioOnly = false) {
  const inputs = ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', ...(audioOnly ? [] : ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'])];
  const video = audioOnly ? ['-vn'] : ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p'];
  return spawnTool('ffmpeg', ['-v', 'error', '-re', ...inputs, '-t', String(seconds), ...video, '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', url]);
}

const handlerFailed = (server: RunningServer) => server.log().split('\n').filter((l) => /connection handler failed|internal error|RangeError/.test(l));

describe('srsx serve: RTMP hardening', () => {
  const started = stopAfterEach();

  itFF('publish a + publish b, publish a + play b, play twice on one connection: refused and released; ffmpeg then publishes a', async () => {
    const server = started.add(await startServer());
    const sequences: Array<[string, (r: Raw) => void, string]> = [
      ['publish b', (r) => r.cmd('publish', ['b', 'live']), 'NetStream.Publish.BadName'],
      ['play b', (r) => r.cmd('play', ['b']), 'NetStream.Play.Failed'],
    ];
    for (const [, second, refusal] of sequences) {
      const r = await Raw.open(server.rtmp);
      r.cmd('connect', [], 1);
      r.cmd('createStream', [], 2);
      r.cmd('publish', ['a', 'live']);
      await r.waitStatus('NetStream.Publish.Start');
      second(r);
      await r.waitStatus(refusal);
      await Promise.race([r.closed, sleep(3000)]);
      expect(r.isClosed).toBe(true);
    }
    const p = await Raw.open(server.rtmp);
    p.cmd('connect', [], 1);
    p.cmd('createStream', [], 2);
    p.cmd('play', ['a']);
    await p.waitStatus('NetStream.Play.Start');
    p.cmd('play', ['a']);
    await p.waitStatus('NetStream.Play.Failed');
    await Promise.race([p.closed, sleep(3000)]);
    expect(p.isClosed).toBe(true);
    await sleep(300);
    expect(await api(server, 'clients')).toEqual([]);
    expect(await api(server, 'streams')).toEqual([]);
    // a is not locked: ffmpeg publishes it
    const pub = ffmpegPublish(`rtmp://127.0.0.1:${server.rtmp}/live/a`, 2, true);
    started.add(pub.child);
    expect(await waitExit(pub.child, 20_000)).toBe(0);
    expect(pub.output()).not.toMatch(/error|already/i);
    expect(handlerFailed(server)).toEqual([]);
  }, 60_000);

  itFF('an audio-only stream plays over RTMP (srsx play) and HTTP-FLV (ffprobe) at once', async () => {
    const server = started.add(await startServer());
    const pub = ffmpegPublish(`rtmp://127.0.0.1:${server.rtmp}/live/radio`, 12, true);
    started.add(pub.child);
    await sleep(1500);
    const out = path.join(server.dir, 'radio.flv');
    const play = spawnSync(process.execPath, [SRSX_BIN, 'play', `rtmp://127.0.0.1:${server.rtmp}/live/radio`, '--duration', '3s', '-o', out], { timeout: 20_000 });
    expect(play.status).toBe(0);
    const tags: number[] = [];
    new FlvDemuxer((t) => tags.push(t.type)).push(readFileSync(out));
    expect(tags.filter((t) => t === 8).length).toBeGreaterThan(50); // ~43 AAC frames a second
    expect(tags.filter((t) => t === 9)).toEqual([]);
    const streams = probeStreams(`http://127.0.0.1:${server.http}/live/radio.flv`, 20_000);
    expect(streams.map((s) => [s.codec_type, s.codec_name])).toEqual([['audio', 'aac']]);
  }, 60_000);

  itFF('publish { normal_timeout }: a publisher whose media stops is unpublished and ffmpeg can publish the stream again', async () => {
    const server = started.add(await startServer({ vhostBody: 'publish { firstpkt_timeout 3000; normal_timeout 1000; }\n    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }' }));
    const r = await Raw.open(server.rtmp);
    r.cmd('releaseStream', ['obs'], 1);
    r.cmd('connect', [], 1);
    r.cmd('createStream', [], 2);
    r.cmd('publish', ['obs', 'live']);
    await r.waitStatus('NetStream.Publish.Start');
    for (let i = 0; i < 5; i++) {
      r.send({ csid: 7, type: MessageType.Audio, streamId: 1, timestamp: i * 100, payload: Buffer.from([0xaf, 1, 1, 2]) });
      await sleep(100);
    }
    // the encoder froze with its TCP connection open (OBS on a dead uplink)
    const t0 = Date.now();
    await Promise.race([r.closed, sleep(4000)]);
    expect(r.isClosed).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(server.log()).toMatch(/normal_timeout 1000 ms/);
    const pub = ffmpegPublish(`rtmp://127.0.0.1:${server.rtmp}/live/obs`, 2, true);
    started.add(pub.child);
    expect(await waitExit(pub.child, 20_000)).toBe(0);
  }, 60_000);

  itFF('fuzz: random command sequences on RTMP connections; then the API is empty, and ffmpeg publishes and a player plays', async () => {
    const server = started.add(await startServer());
    const pid = Number(readFileSync(path.join(server.dir, 'srs.pid'), 'utf8'));
    let seed = 20261202;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const names = ['a', 'b', 'c', '', 'a?vhost=other', 'x'.repeat(300), 'b?token=1...2', '../../etc'];
    const ops = ['connect', 'createStream', 'publish', 'play', 'pause', 'unpause', 'deleteStream', 'closeStream', 'FCUnpublish', 'releaseStream', 'FCPublish', 'audio', 'video', 'aggregate', 'garbage'] as const;
    const deadline = Date.now() + 9000;
    let connections = 0;
    const worker = async () => {
      while (Date.now() < deadline && connections < 400) {
        connections++;
        const r = await Raw.open(server.rtmp);
        const count = 1 + Math.floor(rand() * 25);
        for (let i = 0; i < count && !r.isClosed; i++) {
          const op = pick(ops);
          const name = pick(names);
          const tx = Math.floor(rand() * 10);
          if (op === 'connect') r.cmd('connect', [], tx);
          else if (op === 'publish') r.cmd('publish', [name, 'live'], tx);
          else if (op === 'play') r.cmd('play', [name], tx);
          else if (op === 'pause' || op === 'unpause') r.cmd('pause', [op === 'pause', 0], tx);
          else if (op === 'FCUnpublish' || op === 'releaseStream' || op === 'FCPublish') r.cmd(op, [name], tx);
          else if (op === 'deleteStream') r.cmd(op, [1], tx);
          else if (op === 'createStream' || op === 'closeStream') r.cmd(op, [], tx);
          else if (op === 'audio') r.send({ csid: 7, type: 8, streamId: 1, timestamp: i * 23, payload: Buffer.from([0xaf, rand() < 0.2 ? 0 : 1, 0x12, 0x10]) });
          else if (op === 'video') r.send({ csid: 6, type: 9, streamId: 1, timestamp: i * 40, payload: Buffer.from([rand() < 0.5 ? 0x17 : 0x27, rand() < 0.2 ? 0 : 1, 0, 0, 0, 1, 0x64]) });
          else if (op === 'aggregate') r.send({ csid: 6, type: 22, streamId: 1, timestamp: i, payload: Buffer.from([22, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 15]) });
          else r.socket.write(Buffer.from([Math.floor(rand() * 256), Math.floor(rand() * 256), Math.floor(rand() * 256)]));
          if (rand() < 0.3) await sleep(Math.floor(rand() * 30));
        }
        if (rand() < 0.5) r.socket.end();
        else r.socket.destroy();
        await Promise.race([r.closed, sleep(200)]);
        r.socket.destroy();
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(connections).toBeGreaterThan(40);
    await sleep(1500);
    expect(() => process.kill(pid, 0)).not.toThrow();
    expect(handlerFailed(server)).toEqual([]);
    expect(await api(server, 'clients')).toEqual([]);
    expect(await api(server, 'streams')).toEqual([]);
    // the server still works: ffmpeg publishes, a player gets video and audio
    const pub = ffmpegPublish(`rtmp://127.0.0.1:${server.rtmp}/live/after`, 8);
    started.add(pub.child);
    await sleep(2000);
    const streams = probeStreams(`http://127.0.0.1:${server.http}/live/after.flv`, 20_000);
    expect(streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
  }, 90_000);
});
