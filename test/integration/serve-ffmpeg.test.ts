import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itIf, SRSX_BIN } from '../helpers/env.js';
import { RtmpClient } from '../../src/client/rtmp-client.js';
import { isVideoKeyframe, isVideoSequenceHeader } from '../../src/protocol/flv.js';
import type { RtmpMessage } from '../../src/protocol/rtmp/message.js';
import { probePackets, probeStreams, testFlv } from '../helpers/media.js';
import { sleep, spawnTool, startServer, stopAfterEach, waitExit } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe'] });

describe('srsx serve with ffmpeg and ffprobe', () => {
  const started = stopAfterEach();

  itFF('relays every frame of a published file to an RTMP and an HTTP-FLV player, timestamps intact', async () => {
    const file = testFlv({ seconds: 10 });
    const source = probePackets(file);
    const server = started.add(await startServer());
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-play-'));
    const rtmpOut = path.join(dir, 'rtmp.flv');
    const flvOut = path.join(dir, 'http.flv');
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/relay`;
    // players first, so they see the stream from its first keyframe; they end by themselves
    // 3 s after the stream stops (-rw_timeout), so ffmpeg writes its whole output
    const play = (input: string, out: string) => spawnTool('ffmpeg', ['-v', 'error', '-y', '-rw_timeout', '3000000', '-i', input, '-c', 'copy', '-f', 'flv', out]);
    const p1 = play(url, rtmpOut);
    const p2 = play(`http://127.0.0.1:${server.http}/live/relay.flv`, flvOut);
    started.add(p1.child);
    started.add(p2.child);
    await sleep(1500);
    const pub = spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url]);
    started.add(pub.child);
    expect(await waitExit(pub.child, 30_000)).toBe(0);
    await waitExit(p1.child, 15_000);
    await waitExit(p2.child, 15_000);
    for (const out of [rtmpOut, flvOut]) {
      expect(probeStreams(out).map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
      const got = probePackets(out);
      const count = (list: typeof got, t: string) => list.filter((p) => p.codec_type === t).length;
      expect(count(got, 'video')).toBe(count(source, 'video'));
      // AAC frames: all but possibly the last few in flight when ffmpeg stopped
      expect(count(got, 'audio')).toBeGreaterThanOrEqual(count(source, 'audio') - 3);
      const v0 = got.find((p) => p.codec_type === 'video')!;
      expect(v0.flags).toMatch(/^K/);
      const lastV = got.filter((p) => p.codec_type === 'video').at(-1)!;
      const srcLastV = source.filter((p) => p.codec_type === 'video').at(-1)!;
      expect(Math.abs(Number(lastV.pts_time) - Number(v0.pts_time) - Number(srcLastV.pts_time))).toBeLessThan(0.1);
    }
  }, 90_000);

  itFF('starts a late RTMP and HTTP-FLV player on a keyframe (GOP cache) and lists the stream in the API', async () => {
    const file = testFlv({ seconds: 10 });
    // time_jitter disabled: players see the publisher's time, which tells the GOP they started on
    // (with SRS's default, full, every player starts at 0: test/integration/serve-time-jitter.test.ts)
    const server = started.add(await startServer({ vhostBody: '    play { time_jitter disabled; }\n    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }' }));
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/late`;
    const pub = spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url]);
    started.add(pub.child);
    await sleep(3300); // mid-GOP (keyframes every 2 s)
    for (const input of [url, `http://127.0.0.1:${server.http}/live/late.flv`]) {
      const pk = probePackets(input, ['-read_intervals', '%+#20']);
      const firstVideo = pk.find((p) => p.codec_type === 'video')!;
      expect(firstVideo.flags).toMatch(/^K/);
      expect(Number(firstVideo.pts_time)).toBeGreaterThanOrEqual(1.9);
    }
    const res = await fetch(`http://127.0.0.1:${server.api}/api/v1/streams`);
    const body = (await res.json()) as { code: number; streams: Array<{ name: string; app: string; publish: { active: boolean }; video: { codec: string; width: number }; audio: { codec: string } }> };
    expect(body.code).toBe(0);
    const s = body.streams.find((x) => x.name === 'late')!;
    expect(s).toMatchObject({ app: 'live', publish: { active: true }, video: { codec: 'H264', width: 640 }, audio: { codec: 'AAC' } });
  }, 60_000);

  itFF('refuses a second publisher of a live stream and keeps the first', async () => {
    const file = testFlv({ seconds: 10 });
    const server = started.add(await startServer());
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/busy`;
    const first = spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url]);
    started.add(first.child);
    await sleep(1500);
    const second = spawnTool('ffmpeg', ['-v', 'error', '-re', '-i', file, '-c', 'copy', '-f', 'flv', url]);
    started.add(second.child);
    const code = await waitExit(second.child, 15_000);
    expect(code).not.toBe(0);
    expect(first.child.exitCode).toBeNull();
    expect(server.log()).toMatch(/already has a publisher/);
  }, 60_000);

  itFF('pause stops the media (NetStream.Pause.Notify); unpause resumes it on a keyframe', async () => {
    const server = started.add(await startServer());
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/pause`;
    started.add(spawnTool(process.execPath, [SRSX_BIN, 'publish', '--re', '--loop', '--duration', '30s', testFlv({ seconds: 10 }), url]).child);
    await sleep(1500);
    const client = new RtmpClient(url);
    const media: RtmpMessage[] = [];
    client.on('media', (m: RtmpMessage) => media.push(m));
    try {
      await client.connect();
      await client.play();
      await sleep(1500);
      expect(media.filter((m) => m.type === 9).length).toBeGreaterThan(10);
      await client.pause(true);
      await sleep(600); // what was already on the wire
      const atPause = media.length;
      await sleep(2000);
      expect(media.length).toBe(atPause);
      await client.pause(false);
      await sleep(2500);
      const video = media.slice(atPause).filter((m) => m.type === 9 && !isVideoSequenceHeader(m.payload));
      expect(video.length).toBeGreaterThan(10);
      expect(isVideoKeyframe(video[0]!.payload)).toBe(true);
    } finally {
      client.close();
    }
  }, 60_000);
});

