/**
 * SIGHUP reloads the config without dropping players (srsx serve as a user runs it, through
 * bin/srsx); a config that no longer loads is reported and the running one is kept.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { itIf, SRSX_BIN } from '../helpers/env.js';
import { testFlv } from '../helpers/media.js';
import { sleep, spawnTool, startServer, stopAfterEach, waitExit, type RunningServer } from '../helpers/serve.js';

const itFF = itIf({ tools: ['ffmpeg'] });

async function waitForLog(server: RunningServer, re: RegExp, ms: number): Promise<void> {
  for (const t0 = Date.now(); !re.test(server.log()); await sleep(200)) {
    if (Date.now() - t0 > ms) throw new Error(`no ${re} in the server log after ${ms} ms:\n${server.log()}`);
  }
}

/** The first bytes of an HTTP-FLV response (then the request is aborted), or the status when not 200. */
async function flvHead(url: string): Promise<{ status: number; head?: string }> {
  const ctrl = new AbortController();
  const r = await fetch(url, { signal: ctrl.signal });
  if (r.status !== 200) {
    await r.arrayBuffer().catch(() => undefined);
    return { status: r.status };
  }
  const reader = r.body!.getReader();
  const { value } = await reader.read();
  ctrl.abort();
  return { status: 200, head: Buffer.from(value!).subarray(0, 3).toString('latin1') };
}

describe('srsx serve: SIGHUP', () => {
  const started = stopAfterEach();

  itFF('reloads http_remux while an RTMP player keeps playing; a broken file keeps the running config', async () => {
    const server = started.add(await startServer({ vhostBody: '    play { mw_latency 100; }' }));
    const conf = path.join(server.dir, 'srs.conf');
    const url = `rtmp://127.0.0.1:${server.rtmp}/live/hup`;
    const flv = `http://127.0.0.1:${server.http}/live/hup.flv`;
    const pub = spawnTool(process.execPath, [SRSX_BIN, 'publish', '--re', '--loop', '--duration', '30s', testFlv({ seconds: 10 }), url]);
    started.add(pub.child);
    await sleep(1500);
    const player = spawnTool(process.execPath, [SRSX_BIN, 'play', url, '--duration', '12s', '--json']);
    started.add(player.child);
    await sleep(1500);
    expect((await flvHead(flv)).status).toBe(404); // no http_remux yet

    const original = readFileSync(conf, 'utf8');
    writeFileSync(conf, original.replace('play { mw_latency 100; }', 'play { mw_latency 100; }\n    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }'));
    server.child.kill('SIGHUP');
    await waitForLog(server, /SIGHUP: reloaded/, 10_000);
    expect(await flvHead(flv)).toEqual({ status: 200, head: 'FLV' });

    writeFileSync(conf, 'vhost __defaultVhost__ {\n'); // unterminated block
    server.child.kill('SIGHUP');
    await waitForLog(server, /SIGHUP: reload failed, keeping the running config: .*srs\.conf:2/, 10_000);
    expect(await flvHead(flv)).toEqual({ status: 200, head: 'FLV' });

    // the RTMP player was never dropped: it played its whole 12 s
    expect(await waitExit(player.child, 20_000)).toBe(0);
    const played = JSON.parse(player.output()) as { endedBy: string; video: number; streamSeconds: number };
    expect(played.endedBy).toBe('duration');
    expect(played.streamSeconds).toBeGreaterThan(9);
    expect(server.child.exitCode).toBeNull();
  }, 60_000);
});
