import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { flvBitrateKbps } from '../../src/bench/stream-file.js';
import { startNginxRtmp } from '../../src/bench/servers.js';
import { itIf, runCli } from '../helpers/env.js';
import { probePackets, testFlv } from '../helpers/media.js';
import { sleep, spawnTool, startServer, stopAfterEach, waitExit } from '../helpers/serve.js';
import { SRSX_BIN } from '../helpers/env.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe'] });
const itNginx = itIf({ tools: ['ffmpeg', 'ffprobe', 'nginx'] });

function countTypes(file: string) {
  const p = probePackets(file);
  return { video: p.filter((x) => x.codec_type === 'video'), audio: p.filter((x) => x.codec_type === 'audio') };
}

describe('srsx publish / play round trip', () => {
  const started = stopAfterEach();

  async function roundTrip(rtmpPort: number, name: string) {
    const file = testFlv({ seconds: 6 });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-rt-'));
    const out = path.join(dir, 'out.flv');
    const url = `rtmp://127.0.0.1:${rtmpPort}/live/${name}`;
    const play = spawnTool(process.execPath, [SRSX_BIN, 'play', url, '-o', out, '--duration', '10s', '--json']);
    started.add(play.child);
    await sleep(1000);
    const pub = runCli(['publish', '--re', file, url, '--json'], { timeoutMs: 20_000 });
    expect(pub.stderr).toBe('');
    expect(pub.code).toBe(0);
    expect(JSON.parse(pub.stdout).tags).toBeGreaterThan(400);
    expect(await waitExit(play.child, 15_000)).toBe(0);
    const src = countTypes(file);
    const got = countTypes(out);
    expect(got.video.length).toBe(src.video.length);
    expect(got.audio.length).toBeGreaterThanOrEqual(src.audio.length - 3);
    expect(got.video[0]!.flags).toMatch(/^K/);
    // frame spacing survives: the last video pts relative to the first equals the source's
    const span = (l: typeof got.video) => Number(l.at(-1)!.pts_time) - Number(l[0]!.pts_time);
    expect(Math.abs(span(got.video) - span(src.video))).toBeLessThan(0.05);
  }

  itFF('through srsx serve: every video frame and its timing arrive', async () => {
    const server = started.add(await startServer());
    await roundTrip(server.rtmp, 'roundtrip');
  }, 60_000);

  itNginx('through nginx-rtmp: every video frame and its timing arrive', async () => {
    const nginx = started.add(await startNginxRtmp());
    await roundTrip(nginx.rtmpPort, 'roundtrip');
  }, 60_000);

  it('refuses a bad URL or a missing file with one line and exit 2', () => {
    const a = runCli(['publish', 'nofile.flv', 'rtmp://127.0.0.1/live/x']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/cannot read nofile.flv/);
    const b = runCli(['play', 'rtmp://127.0.0.1/']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/has no app and stream/);
    const c = runCli(['bench', 'rtmp-load', '-c', 'lots', '-r', 'rtmp://127.0.0.1/live/x']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--clients 'lots' is not a whole number/);
    // measuring a process that is not the server would give meaningless numbers
    const d = runCli(['bench', 'compare', '--servers', `pid:${process.pid}:1`, '--clients', '5', '--hold', '1s', '--out', os.tmpdir()]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(new RegExp(`pid ${process.pid} does not listen on port 1`));
  });
});

describe('srsx bench', () => {
  const started = stopAfterEach();

  itFF('rtmp-load: 40 RTMP, then 40 HTTP-FLV players, the right count and players × bitrate within 10%', async () => {
    const file = testFlv({ seconds: 10 });
    const kbps = flvBitrateKbps(file);
    const server = started.add(await startServer());
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/load`;
    const pub = spawnTool(process.execPath, [SRSX_BIN, 'publish', '--re', '--loop', '--duration', '30s', file, url]);
    started.add(pub.child);
    await sleep(1500);
    for (const playUrl of [url, `http://127.0.0.1:${server.http}/live/load.flv`]) {
      const r = runCli(['bench', 'rtmp-load', '-c', '40', '-r', playUrl, '--duration', '10s', '--settle', '2s', '--interval', '2s', '--json'], { timeoutMs: 30_000 });
      expect(r.code).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s).toMatchObject({ url: playUrl, clients: 40, started: 40, alive: 40, playing: 40, failed: 0 });
      const expected = (40 * kbps) / 1000;
      expect(s.steadyMbps).toBeGreaterThan(expected * 0.9);
      expect(s.steadyMbps).toBeLessThan(expected * 1.1);
      expect(r.stderr).toMatch(/alive 40\/40/);
    }
  }, 60_000);

  itNginx('compare: srsx and nginx-rtmp on tiny settings write the table, JSON and chart', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'srsx-cmp-'));
    const r = runCli(['bench', 'compare', '--clients', '5,10', '--servers', 'srsx,nginx-rtmp', '--hold', '2s', '--stream', testFlv({ seconds: 10 }), '--out', out], { timeoutMs: 120_000 });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Server.*Players.*CPU.*Mem.*Conn.*ENbps.*ANbps.*sb.*Lat/);
    const json = JSON.parse(readFileSync(path.join(out, 'compare.json'), 'utf8'));
    expect(json.rows.map((x: { server: string; clients: number; conn: number }) => [x.server, x.clients, x.conn])).toEqual([
      ['srsx', 5, 5], ['srsx', 10, 10], ['nginx-rtmp', 5, 5], ['nginx-rtmp', 10, 10],
    ]);
    for (const row of json.rows) {
      expect(row.serverCpu).toBeGreaterThanOrEqual(0);
      expect(row.serverRssMB).toBeGreaterThan(1);
      expect(row.actualMbps).toBeGreaterThan(0);
    }
    expect(existsSync(path.join(out, 'compare.svg'))).toBe(true);
    expect(readFileSync(path.join(out, 'compare.svg'), 'utf8')).toMatch(/^<svg[\s\S]*nginx-rtmp[\s\S]*<\/svg>$/);
  }, 150_000);
});
