// SRS's edge (vhost cluster { mode remote; origin …; token_traverse …; }) between real srsx
// processes: ffmpeg publishes, ffprobe/rtmpdump/an RTMP client play, the origin's API counts the
// edge's upstream connections.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, itIf, runCli } from '../helpers/env.js';
import { sleep, spawnTool, startServer, stopAfterEach, waitExit } from '../helpers/serve.js';
import { apiList, edgeBody, fileFrames, playersOf as playersOn, publishLoop, videoFrames, waitFor, type ApiClient, type ApiStream } from '../helpers/cluster.js';
import { RtmpClient } from '../../src/client/rtmp-client.js';
import { MessageType, type RtmpMessage } from '../../src/protocol/rtmp/message.js';
import { startHookServer } from '../helpers/hook-server.js';

const itFF = itIf({ tools: ['ffmpeg', 'ffprobe', 'rtmpdump'] });

const api = <T>(server: { api: number }, what: 'clients' | 'streams') => apiList<T>(server.api, what);
const playersOf = (server: { api: number }, stream: string): Promise<ApiClient[]> => playersOn(server.api, stream);

/** Counts the video messages an RTMP player receives. */
async function countingPlayer(url: string): Promise<{ client: RtmpClient; frames: () => number }> {
  const client = new RtmpClient(url, { timeoutMs: 10_000 });
  let n = 0;
  client.on('media', (m: RtmpMessage) => {
    if (m.type === MessageType.Video) n++;
  });
  client.on('error', () => undefined);
  await client.connect();
  await client.play();
  return { client, frames: () => n };
}

describe('srsx edge of an srsx origin', () => {
  const started = stopAfterEach();

  itFF('two players on the edge (RTMP + HTTP-FLV, then rtmpdump) share ONE upstream connection; it stops after the last leaves', async () => {
    const origin = started.add(await startServer());
    const pub = started.add(publishLoop(`rtmp://127.0.0.1:${origin.rtmp}/live/s1`).child);
    const edge = started.add(await startServer({ vhostBody: edgeBody([origin.rtmp]) }));
    await waitFor('the stream on the origin', async () => (await api<ApiStream>(origin, 'streams')).find((s) => s.name === 's1' && s.publish.active));

    // two ffprobe players at once, one over RTMP, one over HTTP-FLV (which pulls over RTMP too)
    const p1 = videoFrames(`rtmp://127.0.0.1:${edge.rtmp}/live/s1`, 5);
    const p2 = videoFrames(`http://127.0.0.1:${edge.http}/live/s1.flv`, 5);
    // while they play: the origin sees one player of s1, the edge (127.0.0.1), and the edge's API says so
    const seen = await waitFor('two players on the edge', async () => {
      const onEdge = await playersOf(edge, 's1');
      return onEdge.length === 2 ? onEdge : undefined;
    });
    expect(seen.map((c) => c.type).sort()).toEqual(['flv-play', 'rtmp-play']);
    const upstream = await playersOf(origin, 's1');
    expect(upstream).toHaveLength(1);
    const st = (await api<ApiStream>(edge, 'streams')).find((s) => s.name === 's1')!;
    expect(st.edge).toMatchObject({ kind: 'play', state: 'playing', upstream: `127.0.0.1:${origin.rtmp}` });
    // the origin says where the stream is, as SRS's /api/v1/clusters (null for a stream it does not have)
    const where = async (stream: string) =>
      ((await (await fetch(`http://127.0.0.1:${origin.api}/api/v1/clusters?vhost=__defaultVhost__&app=live&stream=${stream}&coworker=127.0.0.1:${origin.api}`)).json()) as { code: number; data: { query: object; origin: Record<string, unknown> | null } });
    expect(await where('s1')).toMatchObject({ code: 0, data: { query: { vhost: '__defaultVhost__', app: 'live', stream: 's1' }, origin: { port: origin.rtmp, vhost: '__defaultVhost__', api: `127.0.0.1:${origin.api}` } } });
    expect((await where('nope')).data.origin).toBeNull();
    expect(st.publish.active).toBe(true);
    const [f1, f2] = await Promise.all([p1, p2]);
    // 5 s of 25 fps (a join starts at the GOP's keyframe, up to 2 s earlier)
    expect(f1).toBeGreaterThanOrEqual(100);
    expect(f2).toBeGreaterThanOrEqual(100);

    // rtmpdump joins while the upstream is still on (within the stop delay) or restarts it
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-edge-'));
    const out = path.join(dir, 'dump.flv');
    const dump = started.add(spawnTool('rtmpdump', ['-q', '-v', '-r', `rtmp://127.0.0.1:${edge.rtmp}/live/s1`, '-B', '4', '-m', '15', '-o', out]).child);
    await waitFor('rtmpdump on the edge', async () => (await playersOf(edge, 's1')).length === 1);
    expect(await playersOf(origin, 's1')).toHaveLength(1);
    await waitExit(dump, 30_000);
    expect(await fileFrames(out)).toBeGreaterThanOrEqual(75);

    // the last player left: the upstream stops after the delay (3 s)
    await waitFor('the edge upstream to stop', async () => (await playersOf(origin, 's1')).length === 0, 10_000);
    await waitFor('the stream gone from the edge', async () => !(await api<ApiStream>(edge, 'streams')).some((s) => s.name === 's1'), 5000);
    expect(pub.exitCode).toBeNull();
  }, 120_000);

  itFF('a publish on the edge is pushed to the origin and plays there', async () => {
    const origin = started.add(await startServer());
    const edge = started.add(await startServer({ vhostBody: edgeBody([origin.rtmp]) }));
    started.add(publishLoop(`rtmp://127.0.0.1:${edge.rtmp}/live/up`).child);
    await waitFor('the stream on the origin', async () => (await api<ApiStream>(origin, 'streams')).find((s) => s.name === 'up' && s.publish.active));
    const st = await waitFor('the edge publishing', async () => (await api<ApiStream>(edge, 'streams')).find((s) => s.name === 'up' && s.edge?.state === 'publishing'));
    expect(st.edge).toMatchObject({ kind: 'publish', upstream: `127.0.0.1:${origin.rtmp}` });
    expect(await videoFrames(`rtmp://127.0.0.1:${origin.rtmp}/live/up`, 4)).toBeGreaterThanOrEqual(75);
  }, 90_000);

  itFF('a dead first origin is skipped; a player waiting while the origin is down gets the stream when it comes back', async () => {
    const dead = await freePort(); // nothing listens there
    const origin = started.add(await startServer());
    const edge = started.add(await startServer({ vhostBody: edgeBody([dead, origin.rtmp]) }));
    const pub = started.add(publishLoop(`rtmp://127.0.0.1:${origin.rtmp}/live/f1`).child);
    await waitFor('the stream on the origin', async () => (await api<ApiStream>(origin, 'streams')).find((s) => s.name === 'f1' && s.publish.active));

    const player = await countingPlayer(`rtmp://127.0.0.1:${edge.rtmp}/live/f1`);
    try {
      await waitFor('frames through the second origin', async () => player.frames() >= 25);
      const st = (await api<ApiStream>(edge, 'streams')).find((s) => s.name === 'f1')!;
      expect(st.edge).toMatchObject({ state: 'playing', upstream: `127.0.0.1:${origin.rtmp}` });
      expect(st.edge!.attempts).toBeGreaterThanOrEqual(2);

      // the stream stops at the origin (publisher gone) and the origin's upstream player is kicked:
      // the edge retries round robin (the dead one, then the origin) and the player stays connected
      await sleep(200);
      pub.kill('SIGKILL');
      const up = await waitFor('the edge on the origin', async () => {
        const list = await api<ApiClient>(origin, 'clients');
        return list.find((c) => c.name === 'f1' && !c.publish);
      });
      await fetch(`http://127.0.0.1:${origin.api}/api/v1/clients/${up.id}`, { method: 'DELETE' });
      // kicked: the next origin (the dead one), then a whole round failed, backoff, the origin again
      await waitFor('the edge back on the origin', async () => (await api<ApiStream>(edge, 'streams')).find((s) => s.name === 'f1' && s.edge!.attempts >= 4 && s.edge!.state === 'playing'), 10_000);
      const before = player.frames();
      started.add(publishLoop(`rtmp://127.0.0.1:${origin.rtmp}/live/f1`).child);
      await waitFor('frames again after the stream resumed', async () => player.frames() >= before + 50, 30_000);
      const after = (await api<ApiStream>(edge, 'streams')).find((s) => s.name === 'f1')!;
      expect(after.edge).toMatchObject({ state: 'playing', upstream: `127.0.0.1:${origin.rtmp}` });
    } finally {
      player.client.close();
    }
  }, 120_000);

  itFF('a frozen origin (SIGSTOP: connected, sending nothing) is given up after 5 s for the next one; the player keeps getting frames', async () => {
    const a = started.add(await startServer());
    const b = started.add(await startServer());
    const edge = started.add(await startServer({ vhostBody: edgeBody([a.rtmp, b.rtmp]) }));
    started.add(publishLoop(`rtmp://127.0.0.1:${a.rtmp}/live/z1`).child);
    started.add(publishLoop(`rtmp://127.0.0.1:${b.rtmp}/live/z1`).child);
    for (const o of [a, b]) await waitFor('the stream on both origins', async () => (await api<ApiStream>(o, 'streams')).find((s) => s.name === 'z1' && s.publish.active));
    const aPid = Number(readFileSync(path.join(a.dir, 'srs.pid'), 'utf8').trim());
    expect(aPid).toBeGreaterThan(1);
    const player = await countingPlayer(`rtmp://127.0.0.1:${edge.rtmp}/live/z1`);
    try {
      await waitFor('frames through the first origin', async () => player.frames() >= 25);
      expect((await api<ApiStream>(edge, 'streams')).find((s) => s.name === 'z1')!.edge).toMatchObject({ state: 'playing', upstream: `127.0.0.1:${a.rtmp}` });
      process.kill(aPid, 'SIGSTOP');
      const frozenAt = Date.now();
      await waitFor('the edge on the second origin', async () => (await api<ApiStream>(edge, 'streams')).find((s) => s.name === 'z1' && s.edge?.state === 'playing' && s.edge.upstream === `127.0.0.1:${b.rtmp}`), 30_000);
      // not before the receive timeout: a stall shorter than 5 s is not a failure
      expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(4000);
      expect(edge.log()).toMatch(new RegExp(`edge pull .*z1: 127\\.0\\.0\\.1:${a.rtmp}: no data from the origin in 5 s`));
      const before = player.frames();
      await waitFor('frames through the second origin', async () => player.frames() >= before + 50, 30_000);
    } finally {
      process.kill(aPid, 'SIGCONT');
      player.client.close();
    }
  }, 120_000);

  itFF('token_traverse: the origin (http_hooks on_connect) decides whether the edge serves a client', async () => {
    const hits: Array<Record<string, unknown>> = [];
    const cb = started.add(await startHookServer((body) => {
      hits.push(body);
      // on_connect refuses a client whose param carries token=bad (ffmpeg's publisher sends its
      // token in the stream name, after connect: it has none at connect and is let in)
      return body.action === 'on_connect' && String(body.param).includes('token=bad') ? 403 : 0;
    }));
    const cbPort = cb.port;
    const origin = started.add(await startServer({ vhostBody: `http_hooks { enabled on; on_connect http://127.0.0.1:${cbPort}/connect; }` }));
    const edge = started.add(await startServer({ vhostBody: edgeBody([origin.rtmp], 'token_traverse on;') }));
    started.add(publishLoop(`rtmp://127.0.0.1:${origin.rtmp}/live/t1?token=good`).child);
    await waitFor('the stream on the origin', async () => (await api<ApiStream>(origin, 'streams')).find((s) => s.name === 't1' && s.publish.active));

    // a bad token: the origin refuses the traversed connect, the edge refuses the play
    const bad = new RtmpClient(`rtmp://127.0.0.1:${edge.rtmp}/live/t1?token=bad`);
    bad.on('error', () => undefined);
    await bad.connect();
    await expect(bad.play()).rejects.toThrow(/NetStream.Play.Failed|closed/);
    bad.close();
    await waitFor('the refusal in the edge log', async () => /refused by the origin \(token_traverse\)/.test(edge.log()), 5000);
    const refused = hits.find((h) => h.action === 'on_connect' && String(h.param).includes('token=bad'));
    expect(refused).toMatchObject({ app: 'live' });
    expect(String(refused!.tcUrl)).toContain('token=bad');
    // the refused client never started a pull
    expect(await playersOf(origin, 't1')).toHaveLength(0);

    // a good token: traversed, accepted, played (ffprobe puts the query in the stream name)
    expect(await videoFrames(`rtmp://127.0.0.1:${edge.rtmp}/live/t1?token=good`, 3)).toBeGreaterThanOrEqual(50);
    expect(hits.some((h) => h.action === 'on_connect' && String(h.param).includes('token=good') && String(h.tcUrl).includes(`:${edge.rtmp}/live`))).toBe(true);
  }, 90_000);

  it('-t accepts the cluster block and warns once for each cluster directive srsx does not implement', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-edge-conf-'));
    const conf = path.join(dir, 'edge.conf');
    writeFileSync(conf, `listen 1935;\nvhost __defaultVhost__ {\n    cluster {\n        mode remote;\n        origin 127.0.0.1:19350 127.0.0.1:19351;\n        token_traverse on;\n        origin_cluster off;\n        follow_client on;\n        protocol rtmp;\n    }\n}\n`);
    const ok = runCli(['serve', '-t', '-c', conf]);
    const text = ok.stdout + ok.stderr;
    expect({ code: ok.code, text }).toMatchObject({ code: 0 });
    expect(text).toContain('vhost.cluster.follow_client is not implemented by srsx');
    expect(text).toContain('vhost.cluster.protocol is not implemented by srsx');
    expect(text).not.toMatch(/cluster\.(mode|origin|token_traverse|origin_cluster) is not implemented/);
    writeFileSync(conf, `listen 1935;\nvhost __defaultVhost__ {\n    cluster { mode remote; }\n}\n`);
    const bad = runCli(['serve', '-t', '-c', conf]);
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toMatch(/edge.conf:3:\d+: cluster.mode: an edge \(mode remote\) needs an origin/);
  });
});
