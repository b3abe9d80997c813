// HLS AES-128 (hls_keys) and http_hooks.on_hls_notify of `srsx serve`, with ffmpeg/ffprobe as the clients.
import { createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { itIf } from '../helpers/env.js';
import { testFlv } from '../helpers/media.js';
import { sleep, spawnTool, startServer, stopAfterEach, stopChild, waitExit } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe'] });

const publish = (file: string, url: string) => spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url]);

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * Frames ffmpeg decodes from a live playlist, from its first segment (framecrc: one line per
 * decoded frame, output stream 0 video, 1 audio). A live playlist has no end: ffmpeg is stopped
 * (by PID) once no frame came for 4 s, or after 60 s.
 */
async function countFrames(url: string): Promise<{ video: number; audio: number; stderr: string }> {
  const ff = spawnTool('ffmpeg', ['-nostdin', '-v', 'error', '-allowed_extensions', 'ALL', '-live_start_index', '0', '-i', url, '-map', '0:v', '-map', '0:a', '-f', 'framecrc', '-']);
  const end = Date.now() + 60_000;
  let last = '';
  let lastChange = Date.now();
  while (ff.child.exitCode === null && Date.now() < end && Date.now() - lastChange < 4000) {
    await sleep(250);
    const now = ff.output();
    if (now.length !== last.length) lastChange = Date.now();
    last = now;
  }
  await stopChild(ff.child, 'SIGKILL');
  const counts = new Map<string, number>();
  const errors: string[] = [];
  for (const line of ff.output().split('\n')) {
    const m = /^(\d+),/.exec(line);
    if (m) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
    else if (line && !line.startsWith('#')) errors.push(line);
  }
  return { video: counts.get('0') ?? 0, audio: counts.get('1') ?? 0, stderr: errors.join('\n') };
}

describe('srsx serve HLS AES-128 (hls_keys)', () => {
  const started = stopAfterEach();

  itFF('segments are AES-128-CBC with a key file every hls_fragments_per_key; ffmpeg decodes the playlist over HTTP; a wrong key fails', async () => {
    const file = testFlv({ seconds: 10, gop: 50, kbps: 450 });
    const server = started.add(await startServer({ vhostBody: '    hls { enabled on; hls_path .; hls_fragment 2; hls_window 60; hls_dispose 0; hls_keys on; hls_fragments_per_key 2; }' }));
    expect(await waitExit(started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/enc`).child), 30_000)).toBe(0);
    const m3u8 = path.join(server.dir, 'live/enc.m3u8');
    // 10 s in 2 s segments, the last one written at unpublish
    await waitFor('5 segments', () => existsSync(m3u8) && readFileSync(m3u8, 'utf8').includes('enc-4.ts'), 10_000);
    const text = readFileSync(m3u8, 'utf8');
    const keyLines = [...text.matchAll(/#EXT-X-KEY:METHOD=AES-128,URI="([^"]+)",IV=0x([0-9a-f]{32})\n#EXTINF:[\d.]+, no desc\n(enc-(\d+)\.ts)/g)];
    expect(keyLines.length).toBe(5);
    // a new key every 2 segments, named by the sequence number of its first segment; IV = sequence number
    expect(keyLines.map((m) => m[1])).toEqual(['enc-0.key', 'enc-0.key', 'enc-2.key', 'enc-2.key', 'enc-4.key']);
    for (const m of keyLines) expect(BigInt(`0x${m[2]}`)).toBe(BigInt(m[4]!));
    const keys = readdirSync(path.join(server.dir, 'live')).filter((f) => f.endsWith('.key')).sort();
    expect(keys).toEqual(['enc-0.key', 'enc-2.key', 'enc-4.key']);
    const keyBytes = keys.map((k) => readFileSync(path.join(server.dir, 'live', k)));
    for (const k of keyBytes) expect(k.length).toBe(16);
    expect(new Set(keyBytes.map((k) => k.toString('hex'))).size).toBe(3);
    // on disk a segment is ciphertext (no TS sync bytes), a whole number of AES blocks; decrypted it is TS
    for (const m of keyLines) {
      const enc = readFileSync(path.join(server.dir, 'live', m[3]!));
      expect(enc.length % 16).toBe(0);
      expect([enc[0], enc[188], enc[376]].every((b) => b === 0x47)).toBe(false);
      const key = readFileSync(path.join(server.dir, 'live', m[1]!));
      const d = createDecipheriv('aes-128-cbc', key, Buffer.from(m[2]!, 'hex'));
      const plain = Buffer.concat([d.update(enc), d.final()]);
      expect(plain.length % 188).toBe(0);
      for (let i = 0; i < plain.length; i += 188) if (plain[i] !== 0x47) throw new Error(`${m[3]}: no sync byte at ${i}`);
    }
    // the key is served over HTTP as bytes
    const served = await fetch(`http://127.0.0.1:${server.http}/live/enc-0.key`);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(keyBytes[0]);

    // ffmpeg decodes every frame of the encrypted playlist over HTTP: 10 s at 25 fps
    const url = `http://127.0.0.1:${server.http}/live/enc.m3u8`;
    const good = await countFrames(url);
    expect(good.video).toBeGreaterThanOrEqual(240);
    expect(good.audio).toBeGreaterThanOrEqual(400);

    // a wrong key: the segments it covers no longer decode
    writeFileSync(path.join(server.dir, 'live/enc-2.key'), randomBytes(16));
    const bad = await countFrames(url);
    // the two segments of enc-2.key (4 s, 100 frames) are lost, the others still decode
    expect(bad.video).toBeLessThan(good.video - 90);
    expect(bad.video).toBeGreaterThan(90);
  }, 180_000);

  itFF('hls_cleanup removes the key files no segment of the window uses; hls_key_url prefixes the key URI', async () => {
    const file = testFlv({ seconds: 14, gop: 50, kbps: 450 });
    const server = started.add(
      await startServer({
        vhostBody: '    hls { enabled on; hls_path .; hls_fragment 2; hls_window 4; hls_dispose 0; hls_keys on; hls_fragments_per_key 2; hls_key_file_path ./keys; hls_key_url https://keys.example/k/; hls_key_file [stream]-[seq].key; }',
      }),
    );
    expect(await waitExit(started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/win`).child), 30_000)).toBe(0);
    const m3u8 = path.join(server.dir, 'live/win.m3u8');
    await waitFor('the last segment', () => existsSync(m3u8) && readFileSync(m3u8, 'utf8').includes('win-6.ts'), 10_000);
    await sleep(300);
    const text = readFileSync(m3u8, 'utf8');
    const uris = [...new Set([...text.matchAll(/URI="([^"]+)"/g)].map((m) => m[1]!))];
    expect(uris.every((u) => /^https:\/\/keys\.example\/k\/win-\d+\.key$/.test(u))).toBe(true);
    // only the keys the window names are left in hls_key_file_path
    const onDisk = readdirSync(path.join(server.dir, 'keys')).sort();
    expect(onDisk).toEqual(uris.map((u) => u.slice(u.lastIndexOf('/') + 1)).sort());
    expect(onDisk.length).toBeLessThan(4);
  }, 60_000);
});

describe('srsx serve http_hooks.on_hls_notify', () => {
  const started = stopAfterEach();

  itFF('fetches each segment URL with a GET and reads at most hls_nb_notify bytes', async () => {
    const got: Array<{ url: string; closedEarly: boolean }> = [];
    const cdn = http.createServer((req, res) => {
      const entry = { url: req.url ?? '', closedEarly: false };
      got.push(entry);
      res.writeHead(200, { 'Content-Type': 'video/MP2T' });
      // 4 MB in 64 KB pieces, written as the peer reads: a reader of 100 bytes hangs up long before
      let left = 64;
      const chunk = Buffer.alloc(64 * 1024, 0x47);
      const pump = () => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (entry.closedEarly = left > 0));
      pump();
    });
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
    started.add({ stop: () => new Promise<void>((r) => cdn.close(() => r())) });
    const port = (cdn.address() as AddressInfo).port;
    const file = testFlv({ seconds: 6, gop: 50, kbps: 450 });
    const server = started.add(
      await startServer({
        vhostBody: `    hls { enabled on; hls_path .; hls_fragment 2; hls_dispose 0; hls_nb_notify 100; }
    http_hooks { enabled on; on_hls_notify http://127.0.0.1:${port}/notify/[app]/[stream]/[ts_url][param]; }`,
      }),
    );
    expect(await waitExit(started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/cdn?token=abc`).child), 30_000)).toBe(0);
    await waitFor('3 notifications', () => got.length >= 3, 10_000);
    await sleep(500);
    expect(got.map((g) => g.url)).toEqual(['/notify/live/cdn/cdn-0.ts?token=abc', '/notify/live/cdn/cdn-1.ts?token=abc', '/notify/live/cdn/cdn-2.ts?token=abc']);
    expect(got.every((g) => g.closedEarly)).toBe(true);
    expect(server.log()).toMatch(/on_hls_notify http:\/\/127\.0\.0\.1:\d+\/notify\/live\/cdn\/cdn-0\.ts\?token=abc: status=200 read=100B/);
  }, 60_000);

  itFF('a segment URL on a CDN (hls_entry_prefix http://…) is fetched as it is', async () => {
    const got: string[] = [];
    const cdn = http.createServer((req, res) => {
      got.push(req.url ?? '');
      res.end('ok');
    });
    await new Promise<void>((r) => cdn.listen(0, '127.0.0.1', r));
    started.add({ stop: () => new Promise<void>((r) => cdn.close(() => r())) });
    const port = (cdn.address() as AddressInfo).port;
    const file = testFlv({ seconds: 6, gop: 50, kbps: 450 });
    const server = started.add(
      await startServer({
        vhostBody: `    hls { enabled on; hls_path .; hls_fragment 2; hls_dispose 0; hls_entry_prefix http://127.0.0.1:${port}/edge; }
    http_hooks { enabled on; on_hls_notify http://127.0.0.1:1/never/[ts_url]; }`,
      }),
    );
    expect(await waitExit(started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/e`).child), 30_000)).toBe(0);
    await waitFor('3 fetches', () => got.length >= 3, 10_000);
    expect(got.slice(0, 3)).toEqual(['/edge/live/e-0.ts', '/edge/live/e-1.ts', '/edge/live/e-2.ts']);
    expect(server.log()).not.toMatch(/127\.0\.0\.1:1\/never/);
  }, 60_000);
});
