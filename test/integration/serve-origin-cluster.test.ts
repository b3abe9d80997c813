// srsx as an SRS origin cluster: two origins A and B (origin_cluster on, both listed as coworkers
// by their API ports, each also listing itself), a stream published to B, an srsx edge whose
// origin is A: A redirects the edge to B and the edge's players get the stream. A player of a
// stream no origin has is refused at once.
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort, itIf } from '../helpers/env.js';
import { spawnTool, startServer, stopAfterEach, waitExit, type RunningServer } from '../helpers/serve.js';
import { apiList as api, edgeBody, publishLoop, videoFrames, waitFor, type ApiStream } from '../helpers/cluster.js';
import { RtmpClient } from '../../src/client/rtmp-client.js';
import type { StatusEvent } from '../../src/client/rtmp-client.js';
import { startHookServer } from '../helpers/hook-server.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe'] });

/** An origin of the cluster; the coworkers are filled in by coworkWith() once the ports are known. */
const originBody = `
    cluster { origin_cluster on; coworkers 127.0.0.1:9; }
    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }`;

/** Every origin lists every origin's API (itself too: it must skip itself), then reloads. */
async function coworkWith(origins: RunningServer[]): Promise<void> {
  const list = origins.map((o) => `127.0.0.1:${o.api}`).join(' ');
  for (const o of origins) {
    const conf = path.join(o.dir, 'srs.conf');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace('coworkers 127.0.0.1:9;', `coworkers ${list};`));
    const before = (o.log().match(/SIGHUP: reloaded/g) ?? []).length;
    o.child.kill('SIGHUP');
    await waitFor(`origin on ${o.rtmp} reloaded`, async () => (o.log().match(/SIGHUP: reloaded/g) ?? []).length > before);
  }
}

/** Connect + play on `url`: the first error status (or the close) and how long it took. */
async function playError(url: string): Promise<{ status?: StatusEvent; closedAfterMs?: number; ms: number }> {
  const client = new RtmpClient(url, { timeoutMs: 10_000 });
  client.on('error', () => undefined);
  const t0 = Date.now();
  let status: StatusEvent | undefined;
  client.on('status', (s: StatusEvent) => {
    if (s.level === 'error' && !status) status = s;
  });
  const closed = new Promise<number>((r) => client.once('close', () => r(Date.now() - t0)));
  try {
    await client.connect();
    await client.play().catch(() => undefined);
    const ms = Date.now() - t0;
    let timer: NodeJS.Timeout | undefined;
    const closedAt = await Promise.race([closed, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), 8000)))]);
    clearTimeout(timer);
    return { status, ms, closedAfterMs: closedAt };
  } finally {
    client.close();
  }
}

describe('srsx origin cluster', () => {
  const started = stopAfterEach();

  itFF('an srsx edge of origin A plays a stream published on B: A redirects the edge to B', async () => {
    const a = started.add(await startServer({ vhostBody: originBody }));
    const b = started.add(await startServer({ vhostBody: originBody }));
    await coworkWith([a, b]);
    started.add(publishLoop(`rtmp://127.0.0.1:${b.rtmp}/live/oc`).child);
    await waitFor('the stream on B', async () => (await api<ApiStream>(b.api, 'streams')).find((s) => s.name === 'oc' && s.publish.active));

    const edge = started.add(await startServer({ vhostBody: edgeBody([a.rtmp]) }));
    const frames = videoFrames(`rtmp://127.0.0.1:${edge.rtmp}/live/oc`, 5);
    const st = await waitFor('the edge pulling from B', async () => (await api<ApiStream>(edge.api, 'streams')).find((s) => s.name === 'oc' && s.edge?.state === 'playing' && s.edge.upstream === `127.0.0.1:${b.rtmp}`))
      .catch((e: Error) => {
        throw new Error(`${e.message}\nedge:\n${edge.log().slice(-2000)}\nA:\n${a.log().slice(-2000)}`);
      });
    expect(st.edge).toMatchObject({ kind: 'play', upstream: `127.0.0.1:${b.rtmp}`, redirected_by: `127.0.0.1:${a.rtmp}` });
    expect(await frames).toBeGreaterThanOrEqual(100);
    expect(a.log()).toContain(`redirect to rtmp://127.0.0.1:${b.rtmp}/live/oc`);
    expect(edge.log()).toMatch(new RegExp(`origin 127\\.0\\.0\\.1:${a.rtmp} redirects to 127\\.0\\.0\\.1:${b.rtmp}`));
    // A served no media: it has no stream oc, and its redirected player is gone
    expect((await api<ApiStream>(a.api, 'streams')).find((s) => s.name === 'oc')).toBeUndefined();
  }, 120_000);

  itFF("the redirect a player gets from A: SRS's RTMP 302; a player that ignores it is closed after 3 s, one that answers at once; ffprobe reports an error; hooks on_play, on_stop", async () => {
    const hooks: Array<Record<string, unknown>> = [];
    const cb = started.add(await startHookServer((body) => {
      hooks.push(body);
      return 0;
    }));
    const hookUrl = `http://127.0.0.1:${cb.port}/hook`;
    const a = started.add(await startServer({ vhostBody: `${originBody}\n    http_hooks { enabled on; on_play ${hookUrl}; on_stop ${hookUrl}; }` }));
    const b = started.add(await startServer({ vhostBody: originBody }));
    await coworkWith([a, b]);
    started.add(publishLoop(`rtmp://127.0.0.1:${b.rtmp}/live/r1?token=t1`).child);
    await waitFor('the stream on B', async () => (await api<ApiStream>(b.api, 'streams')).find((s) => s.name === 'r1' && s.publish.active));

    const r = await playError(`rtmp://127.0.0.1:${a.rtmp}/live/r1?token=t9`);
    expect(r.status).toEqual({
      level: 'error',
      code: 'NetConnection.Connect.Rejected',
      description: 'RTMP 302 Redirect',
      ex: { code: 302, redirect: `rtmp://127.0.0.1:${b.rtmp}/live`, redirect2: `rtmp://127.0.0.1:${b.rtmp}/live/r1?token=t9` },
    });
    // nothing answered the redirect: A closes the connection after its 3 s wait
    expect(r.closedAfterMs).toBeDefined();
    expect(r.closedAfterMs! - r.ms).toBeGreaterThanOrEqual(2500);
    expect(a.log()).toMatch(/RTMP close: redirected to rtmp:\/\/127\.0\.0\.1:\d+\/live\/r1\?token=t9 \(no answer in 3000 ms\)/);
    // a player that answers the redirect (any command) is closed at once
    const answering = new RtmpClient(`rtmp://127.0.0.1:${a.rtmp}/live/r1`);
    answering.on('error', () => undefined);
    started.add({ stop: async () => answering.close() });
    const answered = new Promise<number>((r) => answering.once('close', () => r(Date.now())));
    answering.on('status', (st: StatusEvent) => {
      if (st.code === 'NetConnection.Connect.Rejected') void answering.pause(true).catch(() => undefined);
    });
    await answering.connect();
    const t0 = Date.now();
    await answering.play().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const closedAt = await Promise.race([answered, new Promise<number>((r) => (timer = setTimeout(() => r(0), 8000)))]);
    clearTimeout(timer);
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt - t0).toBeLessThan(2500);
    await waitFor('the close line', async () => /RTMP close: redirected to rtmp:\/\/127\.0\.0\.1:\d+\/live\/r1 \(the client answered\)/.test(a.log()));

    // on_play decided before the lookup, on_stop after the redirect (as SRS)
    await waitFor('on_stop', async () => hooks.some((h) => h.action === 'on_stop'));
    expect(hooks.filter((h) => h.stream === 'r1').map((h) => h.action).slice(0, 2)).toEqual(['on_play', 'on_stop']);

    // ffprobe (ffmpeg's RTMP) does not follow redirects: it fails with the status's description
    const probe = spawnTool('ffprobe', ['-v', 'error', '-rw_timeout', '10000000', `rtmp://127.0.0.1:${a.rtmp}/live/r1`]);
    started.add(probe.child);
    const code = await waitExit(probe.child, 30_000);
    expect(code).not.toBe(0);
    expect(probe.output()).toMatch(/Server error: RTMP 302 Redirect/);

    // B, asked for a stream on B, plays it (no lookup): B's own player gets media
    expect(await videoFrames(`rtmp://127.0.0.1:${b.rtmp}/live/r1`, 3)).toBeGreaterThanOrEqual(50);
  }, 120_000);

  itFF('an edge with token_traverse on passes an origin that redirects (the token was taken) and plays from B', async () => {
    const a = started.add(await startServer({ vhostBody: originBody }));
    const b = started.add(await startServer({ vhostBody: originBody }));
    await coworkWith([a, b]);
    started.add(publishLoop(`rtmp://127.0.0.1:${b.rtmp}/live/tt`).child);
    await waitFor('the stream on B', async () => (await api<ApiStream>(b.api, 'streams')).find((s) => s.name === 'tt' && s.publish.active));
    const edge = started.add(await startServer({ vhostBody: edgeBody([a.rtmp], 'token_traverse on;') }));
    expect(await videoFrames(`rtmp://127.0.0.1:${edge.rtmp}/live/tt?token=x`, 3).catch((e: Error) => {
      throw new Error(`${e.message}
edge:
${edge.log().slice(-2000)}`);
    })).toBeGreaterThanOrEqual(50);
    expect(edge.log()).toMatch(/edge token traverse \(play\) ok at 127\.0\.0\.1:\d+ \(it redirects the play\)/);
  }, 120_000);

  it('an origin cluster that redirects in a loop: the edge follows 3 redirects in a row, then counts a failure and backs off', async () => {
    // a coworker API that always says the stream is on A itself
    let aRtmp = 0;
    const fake = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 0, data: { origin: { ip: '127.0.0.1', port: aRtmp, vhost: '__defaultVhost__' } } }));
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', () => r()));
    started.add({ stop: () => new Promise<void>((r) => fake.close(() => r())) });
    const fakeApi = (fake.address() as { port: number }).port;
    const a = started.add(await startServer({ vhostBody: `    cluster { origin_cluster on; coworkers 127.0.0.1:${fakeApi}; }` }));
    aRtmp = a.rtmp;
    const edge = started.add(await startServer({ vhostBody: edgeBody([a.rtmp]) }));
    const player = new RtmpClient(`rtmp://127.0.0.1:${edge.rtmp}/live/loop`);
    player.on('error', () => undefined);
    started.add({ stop: async () => player.close() });
    await player.connect();
    await player.play();
    const st = await waitFor('the edge giving up on the loop', async () => (await api<ApiStream>(edge.api, 'streams')).find((s) => s.name === 'loop' && /more than 3 redirects in a row/.test(s.edge?.last_error ?? '')));
    expect(st.edge!.attempts).toBeGreaterThanOrEqual(4);
    expect(edge.log().match(/redirects to 127\.0\.0\.1:\d+ \(origin cluster\), following/g)!.length).toBeGreaterThanOrEqual(3);
    // the edge and A stay up; the player is still connected, waiting
    expect((await fetch(`http://127.0.0.1:${a.api}/api/v1/versions`)).ok).toBe(true);
    expect(edge.child.exitCode).toBeNull();
  }, 60_000);

  it('a player of a stream no origin has is refused at once (no origin), and the origin lives on', async () => {
    const a = started.add(await startServer({ vhostBody: originBody }));
    const b = started.add(await startServer({ vhostBody: originBody }));
    await coworkWith([a, b]);
    const r = await playError(`rtmp://127.0.0.1:${a.rtmp}/live/nobody`);
    expect(r.status).toMatchObject({ level: 'error', code: 'NetStream.Play.StreamNotFound' });
    expect(r.status!.description).toMatch(/no origin/);
    expect(r.ms).toBeLessThan(3000);
    expect(r.closedAfterMs).toBeDefined();
    expect(a.log()).toMatch(/RTMP play __defaultVhost__\/live\/nobody: no origin in the cluster has it \(127\.0\.0\.1:\d+: not there\)/);
    // a dead coworker is skipped too (connection refused), quickly
    const conf = path.join(a.dir, 'srs.conf');
    const dead = await freePort();
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/coworkers [^;]*;/, `coworkers 127.0.0.1:${dead} 127.0.0.1:${b.api};`));
    const before = (a.log().match(/SIGHUP: reloaded/g) ?? []).length;
    a.child.kill('SIGHUP');
    await waitFor('A reloaded', async () => (a.log().match(/SIGHUP: reloaded/g) ?? []).length > before);
    const r2 = await playError(`rtmp://127.0.0.1:${a.rtmp}/live/nobody2`);
    expect(r2.status).toMatchObject({ code: 'NetStream.Play.StreamNotFound' });
    expect(r2.ms).toBeLessThan(3000);
    expect(a.log()).toMatch(/nobody2: no origin in the cluster has it \(127\.0\.0\.1:\d+: ECONNREFUSED; 127\.0\.0\.1:\d+: not there\)/);
    // A lives: its API answers and it still takes a publisher
    expect((await fetch(`http://127.0.0.1:${a.api}/api/v1/versions`)).ok).toBe(true);
    expect(a.child.exitCode).toBeNull();
  }, 60_000);
});
