// srsx bench hls-load against srsx serve with HLS: 5 players get every segment of the published stream.
import { benchStreamFile } from '../../src/bench/stream-file.js';
import { itIf, SRSX_BIN } from '../helpers/env.js';
import { sleep, spawnTool, startServer, stopAfterEach, waitExit } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg'] });

describe('srsx bench hls-load', () => {
  const started = stopAfterEach();

  itFF('5 players of a live HLS stream get ≥ 99% of its segment bytes, no failures, exit 0', async () => {
    const server = started.add(await startServer({ vhostBody: '    hls { enabled on; hls_path .; hls_fragment 2; hls_window 10; }' }));
    started.add(spawnTool('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', benchStreamFile(), '-c', 'copy', '-f', 'flv', `rtmp://127.0.0.1:${server.rtmp}/live/livestream`]).child);
    await sleep(5000); // a playlist with a couple of segments
    const load = spawnTool(process.execPath, [SRSX_BIN, 'bench', 'hls-load', '-c', '5', '-r', `http://127.0.0.1:${server.http}/live/livestream.m3u8`, '--duration', '12s', '--settle', '1s', '--interval', '4s', '--json']);
    started.add(load.child);
    let out = '';
    load.child.stdout!.on('data', (d) => (out += d));
    expect(await waitExit(load.child, 30_000)).toBe(0);
    const s = JSON.parse(out.slice(out.indexOf('{'))) as { playing: number; segments: number; failed: number; deliveredPercent: number; expectedMbps: number; actualMbps: number; streamKbps: number };
    expect(s.playing).toBe(5);
    expect(s.segments).toBeGreaterThanOrEqual(5 * 4); // 12 s of 2 s segments, the first at the live edge
    expect(s.failed).toBe(0);
    expect(s.deliveredPercent).toBeGreaterThanOrEqual(99);
    // the stream's bitrate as MPEG-TS: the ~529 kbps FLV plus TS/PES overhead
    expect(s.streamKbps).toBeGreaterThan(500);
    expect(s.streamKbps).toBeLessThan(750);
    // bytes per second over ~10 s of 2 s segments: within one segment per player of the expected
    expect(s.actualMbps).toBeGreaterThan(s.expectedMbps * 0.75);
  }, 60_000);
});
