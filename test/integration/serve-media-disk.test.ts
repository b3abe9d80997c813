// HLS and DVR of `srsx serve` on a disk that fails or stalls: the files are lost (a warning, the
// counters on the exporter and the API), the live stream is not — players keep receiving.
import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, itIf } from '../helpers/env.js';
import { probePackets, testFlv } from '../helpers/media.js';
import { sleep, spawnTool, startServer, stopAfterEach, waitExit } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe', 'mkfifo'] });

const publish = (file: string, url: string) => spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url]);

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** One counter of the exporter's text (0 when absent). */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

interface ApiStream {
  name: string;
  hls?: { sequence: number; segments: number; dropped: number; errors: number; last_error?: string };
  dvr?: { plan: string; file: string; files: number; dropped: boolean; errors: number; last_error?: string };
}

async function apiStream(port: number, name: string): Promise<ApiStream | undefined> {
  const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/streams`)).json()) as { streams: ApiStream[] };
  return body.streams.find((s) => s.name === name);
}

describe('srsx serve HLS/DVR on a failing or stalled disk', () => {
  const started = stopAfterEach();

  itFF('an unwritable hls_path and dvr_path: warnings, srs_hls_segment_errors_total / srs_dvr_* and the API count them, RTMP players keep playing', async () => {
    const exporter = await freePort();
    const file = testFlv({ seconds: 12, gop: 50, kbps: 450 });
    // the parent of both paths is a regular file: mkdir fails with ENOTDIR, even as root
    const server = started.add(
      await startServer({
        extra: `exporter { enabled on; listen ${exporter}; }`,
        vhostBody: '    hls { enabled on; hls_path ./blocked/hls; hls_fragment 2; hls_dispose 0; }\n    dvr { enabled on; dvr_path ./blocked/dvr/[stream].flv; }',
      }),
    );
    writeFileSync(path.join(server.dir, 'blocked'), 'not a directory\n');
    const pub = started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/s`).child);
    await sleep(1500);
    const out = path.join(server.dir, 'play.flv');
    const player = spawnTool('ffmpeg', ['-v', 'error', '-y', '-i', `rtmp://127.0.0.1:${server.rtmp}/live/s`, '-t', '8', '-c', 'copy', out]);
    started.add(player.child);
    // 2 s segments: several fail while the stream plays
    await waitFor('3 failed segments', async () => (await metric(exporter, 'srs_hls_segment_errors_total')) >= 3, 20_000);
    const st = await apiStream(server.api, 's');
    expect(st?.hls?.errors).toBeGreaterThanOrEqual(3);
    expect(st?.hls?.segments).toBe(0);
    expect(st?.hls?.last_error).toMatch(/ENOTDIR|not a directory/i);
    expect(st?.dvr?.dropped).toBe(true);
    expect(st?.dvr?.last_error).toMatch(/ENOTDIR|not a directory/i);
    expect(await metric(exporter, 'srs_dvr_dropped_total')).toBe(1);
    expect(await metric(exporter, 'srs_dvr_errors_total')).toBeGreaterThanOrEqual(1);
    expect(await metric(exporter, 'srs_hls_segments_total')).toBe(0);
    expect(server.log()).toMatch(/hls __defaultVhost__\/live\/s: segment 0 not written \(.*(ENOTDIR|not a directory).*\); left out of the playlist/);
    expect(server.log()).toMatch(/dvr __defaultVhost__\/live\/s: cannot open .*blocked\/dvr\/s\.flv\.tmp: .*(ENOTDIR|not a directory).*; recording dropped/);
    // the player got 8 s of stream, the publisher was never held up
    expect(await waitExit(player.child, 30_000)).toBe(0);
    const pk = probePackets(out);
    expect(pk.filter((p) => p.codec_type === 'video').length).toBeGreaterThanOrEqual(190);
    expect(await waitExit(pub, 30_000)).toBe(0);
  }, 90_000);

  itFF('a DVR file on a pipe whose reader never reads: the recording is dropped with a warning, the publisher and players go on at full speed', async () => {
    const exporter = await freePort();
    const file = testFlv({ seconds: 24, gop: 50, kbps: 450 });
    const server = started.add(
      await startServer({
        extra: `exporter { enabled on; listen ${exporter}; }`,
        vhostBody: '    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n    dvr { enabled on; dvr_path ./slow/rec.flv; }',
      }),
    );
    // the recording's temp file is a FIFO held open by a reader that sleeps: writes stop once its 64 KiB are full
    mkdirSync(path.join(server.dir, 'slow'));
    const fifo = path.join(server.dir, 'slow/rec.flv.tmp');
    expect(spawnTool('mkfifo', [fifo]).child.pid).toBeDefined();
    await waitFor('the fifo', () => existsSync(fifo), 5000);
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const reader = spawn('sleep', ['120'], { stdio: [fd, 'ignore', 'ignore'] });
    closeSync(fd);
    started.add(reader);

    const t0 = Date.now();
    const pub = started.add(publish(file, `rtmp://127.0.0.1:${server.rtmp}/live/rec`).child);
    await sleep(1500);
    const out = path.join(server.dir, 'play.flv');
    const player = spawnTool('ffmpeg', ['-v', 'error', '-y', '-i', `http://127.0.0.1:${server.http}/live/rec.flv`, '-t', '18', '-c', 'copy', out]);
    started.add(player.child);
    await waitFor('the dropped recording', async () => (await metric(exporter, 'srs_dvr_dropped_total')) === 1, 25_000);
    const dropAfter = (Date.now() - t0) / 1000;
    expect(server.log()).toMatch(/dvr __defaultVhost__\/live\/rec: disk too slow \(\d+ bytes pending, a write stuck for \d+ s\): recording of .*slow\/rec\.flv dropped/);
    const st = await apiStream(server.api, 'rec');
    expect(st?.dvr?.dropped).toBe(true);
    // the player got its 18 s at the stream's pace, the publisher finished its 24 s on time
    expect(await waitExit(player.child, 40_000)).toBe(0);
    const video = probePackets(out).filter((p) => p.codec_type === 'video');
    expect(video.length).toBeGreaterThanOrEqual(440);
    expect(await waitExit(pub, 40_000)).toBe(0);
    const took = (Date.now() - t0) / 1000;
    expect(took).toBeLessThan(24 + 5);
    expect(dropAfter).toBeLessThan(20);
    // nothing of the recording reached a regular file
    expect(readdirSync(path.join(server.dir, 'slow'))).toEqual(['rec.flv.tmp']);
  }, 120_000);
});
