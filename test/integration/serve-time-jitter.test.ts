// play { time_jitter full|zero|disabled } against a real srsx: ffmpeg publishes a looping file for
// over 10 s, then late players (ffprobe over RTMP and HTTP-FLV, rtmpdump --stop) read it. With
// full (SRS's default) and zero a late player starts near 0; with disabled it sees the publisher's
// time. rtmpdump -B 5 stops after 5 s of stream, as SRS honours play's duration.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { itIf } from '../helpers/env.js';
import { testFlv } from '../helpers/media.js';
import { sleep, spawnTool, startServer, stopAfterEach } from '../helpers/serve.js';

const run = promisify(execFile);
const itFF = itIf({ tools: ['ffmpeg', 'ffprobe', 'rtmpdump'] });

/** start_time (s) and first packets' timestamps of `input`, read for `seconds` */
async function probe(input: string, seconds = 2): Promise<{ start: number; dts: number[] }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-rw_timeout', '15000000', '-read_intervals', `%+${seconds}`, '-show_entries', 'format=start_time:packet=dts_time', '-of', 'json', input], { timeout: 40_000, maxBuffer: 16 << 20 });
  const j = JSON.parse(stdout) as { format: { start_time: string }; packets: { dts_time?: string }[] };
  return { start: Number(j.format.start_time), dts: j.packets.map((p) => Number(p.dts_time ?? 'NaN')).filter((t) => !Number.isNaN(t)) };
}

describe('serve: play { time_jitter }', () => {
  const cleanup = stopAfterEach();

  itFF('late players start near 0 with full (the default) and zero, at the publisher\'s time with disabled; rtmpdump -B 5 stops after 5 s', async () => {
    const server = cleanup.add(await startServer({
      vhostBody: '    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }',
      extra: `vhost zero.test { play { time_jitter zero; } http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }
vhost off.test { play { time_jitter disabled; } http_remux { enabled on; mount [vhost]/[app]/[stream].flv; } }`,
    }));
    const file = testFlv({ seconds: 10 });
    const rtmp = (vhost: string | undefined) => `rtmp://127.0.0.1:${server.rtmp}/live/s${vhost ? `?vhost=${vhost}` : ''}`;
    for (const vhost of [undefined, 'zero.test', 'off.test']) {
      cleanup.add(spawnTool('ffmpeg', ['-v', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'flv', rtmp(vhost)]).child);
    }
    await sleep(11_500); // the stream has been running for over 10 s

    const [full, fullFlv, zero, off, offFlv] = await Promise.all([
      probe(rtmp(undefined)),
      probe(`http://127.0.0.1:${server.http}/live/s.flv`),
      probe(rtmp('zero.test')),
      probe(rtmp('off.test')),
      probe(`http://127.0.0.1:${server.http}/off.test/live/s.flv`),
    ]);
    for (const p of [full, fullFlv, zero]) {
      expect(p.start).toBeLessThan(0.1);
      expect(Math.max(...p.dts)).toBeGreaterThan(1); // timestamps go on from there
    }
    for (const p of [off, offFlv]) expect(p.start).toBeGreaterThan(9); // the publisher's time, > 10 s in

    // rtmpdump --stop 5: play(name, -1000, 5000); the server closes after 5 s of stream
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-jitter-'));
    const out = path.join(dir, 'dump.flv');
    const started = Date.now();
    await run('rtmpdump', ['-r', rtmp(undefined), '-B', '5', '-o', out], { timeout: 20_000 }).catch(() => undefined); // it reports the close as an error; the dump is what counts
    const took = Date.now() - started;
    expect(took).toBeLessThan(9_000); // at most 5 s of stream (less when the GOP dump covers some), never endless
    expect(took).toBeGreaterThan(2_000);
    const got = await probe(out, 100);
    expect(got.start).toBeLessThan(0.1);
    const length = Math.max(...got.dts) - got.start;
    expect(length).toBeGreaterThan(4.5);
    expect(length).toBeLessThan(6);
    expect(server.log()).toMatch(/play duration 5000 ms reached/);
  }, 90_000);
});
