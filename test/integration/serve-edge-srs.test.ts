// srsx and SRS 7 in one cluster, both ways: SRS as the origin of an srsx edge, SRS as an edge of an
// srsx origin. SRS is the binary built from SRS's source (test/helpers/srs-cache.ts); without it the
// cases are skipped with a loud warning naming what is missing (SRSX_REQUIRE_SRS=1: they fail).
import { hasTool } from '../helpers/env.js';
import { sleep, startServer, stopAfterEach } from '../helpers/serve.js';
import { ensureSrs, itIfAvailable } from '../helpers/srs-cache.js';
import { startSrs } from '../helpers/srs-server.js';
import { apiList as api, edgeBody, playersOf as players, publishLoop, videoFrames, waitFor, type ApiStream } from '../helpers/cluster.js';
import { RtmpClient } from '../../src/client/rtmp-client.js';
import { startHookServer } from '../helpers/hook-server.js';

const srs = ensureSrs();
const missingTools = ['ffmpeg', 'ffprobe'].filter((t) => !hasTool(t));
const itSrs = itIfAvailable(missingTools.length === 0 ? srs : { ok: false, why: `needs ${missingTools.join(', ')}` });

describe('srsx and SRS 7 in one cluster', () => {
  const started = stopAfterEach();

  itSrs('SRS 7 as the origin of an srsx edge: two edge players, one upstream on SRS; a publish through the edge plays on SRS', async () => {
    const origin = started.add(await startSrs());
    const edge = started.add(await startServer({ vhostBody: edgeBody([origin.rtmp]) }));
    started.add(publishLoop(`rtmp://127.0.0.1:${origin.rtmp}/live/s7`).child);
    await waitFor('the stream on SRS', async () => (await api<ApiStream>(origin.api, 'streams')).find((s) => s.name === 's7' && s.publish.active));

    const p1 = videoFrames(`rtmp://127.0.0.1:${edge.rtmp}/live/s7`, 5);
    const p2 = videoFrames(`http://127.0.0.1:${edge.http}/live/s7.flv`, 5);
    await waitFor('two players on the edge', async () => (await players(edge.api, 's7')).length === 2);
    expect(await players(origin.api, 's7')).toHaveLength(1);
    const st = (await api<ApiStream>(edge.api, 'streams')).find((s) => s.name === 's7')!;
    expect(st.edge).toMatchObject({ kind: 'play', state: 'playing', upstream: `127.0.0.1:${origin.rtmp}` });
    const [f1, f2] = await Promise.all([p1, p2]);
    expect(f1).toBeGreaterThanOrEqual(100);
    expect(f2).toBeGreaterThanOrEqual(100);

    // edge publish: srsx pushes to SRS
    started.add(publishLoop(`rtmp://127.0.0.1:${edge.rtmp}/live/up7`).child);
    await waitFor('the edge publish on SRS', async () => (await api<ApiStream>(origin.api, 'streams')).find((s) => s.name === 'up7' && s.publish.active));
    expect(await videoFrames(`rtmp://127.0.0.1:${origin.rtmp}/live/up7`, 4)).toBeGreaterThanOrEqual(75);
  }, 120_000);

  itSrs('SRS 7 as an edge of an srsx origin: two SRS edge players, one upstream on srsx; a publish through SRS plays on srsx', async () => {
    const origin = started.add(await startServer());
    const edge = started.add(await startSrs(`    cluster { mode remote; origin 127.0.0.1:${origin.rtmp}; }`));
    started.add(publishLoop(`rtmp://127.0.0.1:${origin.rtmp}/live/o7`).child);
    await waitFor('the stream on srsx', async () => (await api<ApiStream>(origin.api, 'streams')).find((s) => s.name === 'o7' && s.publish.active));

    // HTTP-FLV first: SRS 7's edge then plays `o7.flv` upstream, which srsx (as SRS) takes as `o7`
    const p2 = videoFrames(`http://127.0.0.1:${edge.http}/live/o7.flv`, 5);
    await sleep(500);
    const p1 = videoFrames(`rtmp://127.0.0.1:${edge.rtmp}/live/o7`, 5);
    await waitFor('the SRS edge pulling from srsx', async () => (await players(origin.api, 'o7')).length >= 1).catch((e: Error) => {
      throw new Error(`${e.message}\nSRS edge log:\n${edge.log().slice(-4000)}\nsrsx origin log:\n${origin.log().slice(-2000)}`);
    });
    await sleep(1000);
    expect(await players(origin.api, 'o7')).toHaveLength(1);
    const [f1, f2] = await Promise.all([p1, p2]);
    expect(f1).toBeGreaterThanOrEqual(100);
    expect(f2).toBeGreaterThanOrEqual(100);

    // SRS's edge publish into srsx
    started.add(publishLoop(`rtmp://127.0.0.1:${edge.rtmp}/live/up7`).child);
    await waitFor('the SRS edge publish on srsx', async () => (await api<ApiStream>(origin.api, 'streams')).find((s) => s.name === 'up7' && s.publish.active));
    expect(await videoFrames(`rtmp://127.0.0.1:${origin.rtmp}/live/up7`, 4)).toBeGreaterThanOrEqual(75);
  }, 120_000);

  // SRS 7 calls on_connect only once a client plays or publishes: the edge's traverse of a player
  // connects AND plays (then leaves), so SRS's hook sees the token and can refuse it
  itSrs("token_traverse against SRS 7: SRS's on_connect hook sees the edge client's token and decides", async () => {
    const hits: Array<Record<string, unknown>> = [];
    const cb = started.add(await startHookServer((body) => {
      hits.push(body);
      return body.action === 'on_connect' && String(body.param).includes('token=bad') ? 403 : 0;
    }));
    const cbPort = cb.port;
    const origin = started.add(await startSrs(`    http_hooks { enabled on; on_connect http://127.0.0.1:${cbPort}/connect; }`));
    const edge = started.add(await startServer({ vhostBody: edgeBody([origin.rtmp], 'token_traverse on;') }));
    started.add(publishLoop(`rtmp://127.0.0.1:${origin.rtmp}/live/t7`).child);
    await waitFor('the stream on SRS', async () => (await api<ApiStream>(origin.api, 'streams')).find((s) => s.name === 't7' && s.publish.active));

    const bad = new RtmpClient(`rtmp://127.0.0.1:${edge.rtmp}/live/t7?token=bad`);
    bad.on('error', () => undefined);
    await bad.connect();
    await expect(bad.play()).rejects.toThrow(/NetStream.Play.Failed|closed/).catch((e: Error) => {
      throw new Error(`${e.message}\nhooks: ${JSON.stringify(hits)}\nedge: ${edge.log().slice(-1500)}\nSRS: ${origin.log().slice(-3000)}`);
    });
    bad.close();
    expect(hits.some((h) => h.action === 'on_connect' && String(h.param).includes('token=bad'))).toBe(true);
    // refused before any pull: SRS sees no player of t7 from the edge
    expect(await players(origin.api, 't7')).toHaveLength(0);
    expect(await videoFrames(`rtmp://127.0.0.1:${edge.rtmp}/live/t7?token=good`, 3)).toBeGreaterThanOrEqual(50);
    expect(hits.some((h) => h.action === 'on_connect' && String(h.param).includes('token=good'))).toBe(true);
  }, 120_000);
});
