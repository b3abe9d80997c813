import net from 'node:net';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { encodeChunks } from '../../src/protocol/rtmp/chunk-writer.js';
import { command } from '../../src/protocol/rtmp/control.js';
import { startNginxRtmp } from '../../src/bench/servers.js';
import { itIf, SRSX_BIN } from '../helpers/env.js';
import { probeStreams, testFlv } from '../helpers/media.js';
import { sleep, startServer, stopAfterEach } from '../helpers/serve.js';
import { playStream } from '../../src/client/play-stream.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe'] });
const itNginx = itIf({ tools: ['ffmpeg', 'ffprobe', 'nginx'] });

/** Deterministic pseudo-random bytes (a failing seed can be replayed). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/** A valid C0C1 + C2 (simple handshake), then `tail`. */
function handshakeThen(tail: Buffer): Buffer[] {
  const c0c1 = Buffer.alloc(1537);
  c0c1[0] = 3;
  return [c0c1, Buffer.alloc(1536), tail];
}

function send(port: number, parts: Buffer[], holdMs: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('connect', () => {
      for (const p of parts) s.write(p);
      setTimeout(() => {
        s.destroy();
        resolve();
      }, holdMs);
    });
    s.on('close', () => resolve());
  });
}

describe('srsx serve under bad input', () => {
  const started = stopAfterEach();

  itFF('survives 20 s of random and mutated bytes at every stage while a real player keeps streaming', async () => {
    const server = started.add(await startServer());
    const pid = Number(readFileSync(path.join(server.dir, 'srs.pid'), 'utf8'));
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/fuzz`;
    started.add(spawn(process.execPath, [SRSX_BIN, 'publish', '--re', '--loop', '--duration', '40s', testFlv({ seconds: 10 }), url], { stdio: 'ignore' }));
    await sleep(1000);
    const player = playStream(url, { durationMs: 24_000 });
    const rand = rng(20261125);
    const connect = command('connect', 1, { app: 'live', tcUrl: `rtmp://127.0.0.1:${server.rtmp}/live` });
    const valid = Buffer.concat([encodeChunks(connect, 128), encodeChunks(command('createStream', 2, null), 128), encodeChunks(command('play', 0, null, ['fuzz']), 128)]);
    const rssStart = rssOf(pid);
    const end = Date.now() + 20_000;
    let cases = 0;
    while (Date.now() < end) {
      const kind = cases % 6;
      let parts: Buffer[];
      if (kind === 0) parts = [Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 4000) }, () => Math.floor(rand() * 256)))]; // noise as a handshake
      else if (kind === 1) {
        const m = Buffer.from(valid);
        for (let k = 0; k < 1 + rand() * 6; k++) m[Math.floor(rand() * m.length)] = Math.floor(rand() * 256);
        parts = handshakeThen(m); // mutated chunk headers / AMF
      } else if (kind === 2) parts = handshakeThen(Buffer.from([0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff])); // absurd chunk size
      else if (kind === 3) parts = handshakeThen(Buffer.from([0x03, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0])); // 16 MiB message header, then nothing
      else if (kind === 4) parts = [Buffer.from('GET /live/fuzz.flv HTTP/1.1\r\nHost: x\r\n\r\n')]; // HTTP on the RTMP port
      else parts = [Buffer.from([3]), Buffer.alloc(700)]; // stalls mid-handshake
      await Promise.all([send(server.rtmp, parts, kind === 5 ? 300 : 30), send(server.http, [Buffer.from(`GET /${'x'.repeat(Math.floor(rand() * 100))}%${Math.floor(rand() * 99)} HTTP/1.1\r\nHost: ${'a'.repeat(Math.floor(rand() * 50))}\r\n\r\n`)], 20)]);
      cases++;
    }
    const stats = await player;
    expect(cases).toBeGreaterThan(100);
    expect(stats.endedBy).toBe('duration');
    // the player kept getting video through all of it (~25 fps over ~20 s of fuzzing)
    expect(stats.video).toBeGreaterThan(400);
    expect(server.child.exitCode).toBeNull();
    expect(rssOf(pid) - rssStart).toBeLessThan(150 * 1024 * 1024);
    expect(server.log()).toMatch(/protocol error/);
  }, 90_000);

  it('max_connections: a connection over the limit is closed at once, the others stay', async () => {
    const server = started.add(await startServer({ maxConnections: 3 }));
    const open = (): Promise<net.Socket> =>
      new Promise((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port: server.rtmp });
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    const closedWithin = (s: net.Socket, ms: number) =>
      new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        s.once('close', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
    const kept = [await open(), await open(), await open()];
    try {
      const extra = await open();
      extra.on('error', () => {});
      expect(await closedWithin(extra, 2000)).toBe(true);
      for (const s of kept) expect(s.destroyed).toBe(false);
      expect(server.log()).toMatch(/refuse RTMP connection from 127\.0\.0\.1: max_connections 3 reached/);
      // a slot that frees up is usable again
      kept.pop()!.destroy();
      await sleep(200);
      const again = await open();
      expect(await closedWithin(again, 500)).toBe(false);
      kept.push(again);
    } finally {
      for (const s of kept) s.destroy();
    }
  });

  itFF('a player that never reads is skipped to the next keyframe; memory stays bounded', async () => {
    const server = started.add(await startServer({ vhostBody: '    play { queue_length 2; }' }));
    const pid = Number(readFileSync(path.join(server.dir, 'srs.pid'), 'utf8'));
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/slow`;
    started.add(spawn(process.execPath, [SRSX_BIN, 'publish', '--re', '--loop', '--duration', '40s', testFlv({ seconds: 10, kbps: 6000 }), url], { stdio: 'ignore' }));
    await sleep(800);
    const s = net.connect({ host: '127.0.0.1', port: server.rtmp });
    await new Promise((r) => s.once('connect', r));
    s.write(Buffer.concat([...handshakeThen(Buffer.alloc(0)), encodeChunks(command('connect', 1, { app: 'live', tcUrl: 'rtmp://127.0.0.1/live' }), 128), encodeChunks(command('createStream', 2, null), 128), encodeChunks(command('play', 0, null, ['slow'], 1), 128)]));
    s.pause(); // never read
    const rss0 = rssOf(pid);
    // the kernel's socket buffers fill first (several MB), then the server's queue_length (2 s) bound
    for (let i = 0; i < 50 && !/skipping to the next keyframe/.test(server.log()); i++) await sleep(500);
    expect(server.log()).toMatch(/skipping to the next keyframe/);
    // the API names the stalled player: its kernel send queue is large and has not shrunk between two looks
    const clients = async () => ((await (await fetch(`http://127.0.0.1:${server.api}/api/v1/clients/`)).json()) as { clients: Array<{ publish: boolean; send_queue: { kernel_bytes: number; stalled_ms: number } }> }).clients;
    await clients();
    await sleep(1500);
    const seen = await clients();
    const player = seen.find((c) => !c.publish)!;
    const publisher = seen.find((c) => c.publish)!;
    expect(player.send_queue.kernel_bytes).toBeGreaterThanOrEqual(64 * 1024);
    expect(player.send_queue.stalled_ms).toBeGreaterThanOrEqual(1000);
    expect(publisher.send_queue.stalled_ms).toBe(0);
    await sleep(1500);
    // 6 Mbps for ~20 s would be ~15 MB if it were all kept; the bound keeps it to ~2 s of stream
    expect(rssOf(pid) - rss0).toBeLessThan(40 * 1024 * 1024);
    s.destroy();
  }, 90_000);

  itNginx('forwards to a real nginx-rtmp, which plays it', async () => {
    const nginx = started.add(await startNginxRtmp());
    const server = started.add(await startServer({ vhostBody: `    forward { enabled on; destination 127.0.0.1:${nginx.rtmpPort}; }` }));
    started.add(spawn(process.execPath, [SRSX_BIN, 'publish', '--re', '--loop', '--duration', '30s', testFlv({ seconds: 10 }), `rtmp://127.0.0.1:${server.rtmp}/live/fwd`], { stdio: 'ignore' }));
    await sleep(2500);
    const streams = probeStreams(`rtmp://127.0.0.1:${nginx.rtmpPort}/live/fwd`, 20_000);
    expect(streams.map((x) => x.codec_name).sort()).toEqual(['aac', 'h264']);
    expect(server.log()).toMatch(/forward .* started/);
  }, 60_000);

  itNginx('forward reconnects when nginx-rtmp goes away and comes back on the same port', async () => {
    let nginx = started.add(await startNginxRtmp());
    const port = nginx.rtmpPort;
    const server = started.add(await startServer({ vhostBody: `    forward { enabled on; destination 127.0.0.1:${port}; }` }));
    started.add(spawn(process.execPath, [SRSX_BIN, 'publish', '--re', '--loop', '--duration', '50s', testFlv({ seconds: 10 }), `rtmp://127.0.0.1:${server.rtmp}/live/again`], { stdio: 'ignore' }));
    await sleep(2500);
    expect(probeStreams(`rtmp://127.0.0.1:${port}/live/again`, 20_000).length).toBe(2);
    await nginx.stop(); // the destination goes away
    for (let i = 0; i < 40 && !/forward .*again.*retry in/.test(server.log()); i++) await sleep(250);
    expect(server.log()).toMatch(/forward .*again.*retry in \d+ ms/);
    await sleep(1500);
    nginx = started.add(await startNginxRtmp({ port })); // and comes back
    const forwardsStarted = () => (server.log().match(/forward \S*again\S* → \S+ started/g) ?? []).length;
    for (let i = 0; i < 60 && forwardsStarted() < 2; i++) await sleep(250);
    expect(forwardsStarted()).toBe(2);
    await sleep(2500);
    const streams = probeStreams(`rtmp://127.0.0.1:${port}/live/again`, 20_000);
    expect(streams.map((x) => x.codec_name).sort()).toEqual(['aac', 'h264']);
  }, 90_000);
});
