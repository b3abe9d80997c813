// srsx and SRS 7 in one origin cluster: an SRS edge follows an srsx origin's redirect, an srsx
// edge follows SRS origins' redirect, and the origins of both ask each other's /api/v1/clusters.
// SRS is the binary built from SRS's source (test/helpers/srs-cache.ts); without it the cases are
// skipped with a loud warning naming what is missing (SRSX_REQUIRE_SRS=1: they fail).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hasTool } from '../helpers/env.js';
import { startServer, stopAfterEach, type RunningServer } from '../helpers/serve.js';
import { ensureSrs, itIfAvailable } from '../helpers/srs-cache.js';
import { startSrs, type SrsProcess } from '../helpers/srs-server.js';
import { apiList as api, edgeBody, playersOf as players, publishLoop, videoFrames, waitFor, type ApiStream } from '../helpers/cluster.js';

const srs = ensureSrs();
const missingTools = ['ffmpeg', 'ffprobe'].filter((t) => !hasTool(t));
const itSrs = itIfAvailable(missingTools.length === 0 ? srs : { ok: false, why: `needs ${missingTools.join(', ')}` });

/** An srsx origin of the cluster whose coworkers are filled in by coworkWith(). */
const srsxOrigin = () => startServer({ vhostBody: '    cluster { origin_cluster on; coworkers 127.0.0.1:9; }' });

/** The srsx origin `o` asks `apis` (then reloads). */
async function coworkWith(o: RunningServer, apis: number[]): Promise<void> {
  const conf = path.join(o.dir, 'srs.conf');
  writeFileSync(conf, readFileSync(conf, 'utf8').replace('coworkers 127.0.0.1:9;', `coworkers ${apis.map((p) => `127.0.0.1:${p}`).join(' ')};`));
  const before = (o.log().match(/SIGHUP: reloaded/g) ?? []).length;
  o.child.kill('SIGHUP');
  await waitFor(`srsx on ${o.rtmp} reloaded`, async () => (o.log().match(/SIGHUP: reloaded/g) ?? []).length > before);
}

/** The logs of the servers, for a failure's message. */
const logs = (servers: Record<string, RunningServer | SrsProcess>) =>
  Object.entries(servers).map(([name, s]) => `--- ${name}:\n${s.log().slice(-2500)}`).join('\n');

describe('srsx and SRS 7 in one origin cluster', () => {
  const started = stopAfterEach();

  itSrs('an SRS 7 edge of srsx origin A plays a stream published on srsx B: A redirects SRS to B', async () => {
    const a = started.add(await srsxOrigin());
    const b = started.add(await srsxOrigin());
    await coworkWith(a, [a.api, b.api]);
    started.add(publishLoop(`rtmp://127.0.0.1:${b.rtmp}/live/sr1`).child);
    await waitFor('the stream on B', async () => (await api<ApiStream>(b.api, 'streams')).find((s) => s.name === 'sr1' && s.publish.active));
    const edge = started.add(await startSrs(`    cluster { mode remote; origin 127.0.0.1:${a.rtmp}; }`));

    const frames = await videoFrames(`rtmp://127.0.0.1:${edge.rtmp}/live/sr1`, 5).catch((e: Error) => {
      throw new Error(`${e.message}\n${logs({ 'SRS edge': edge, 'srsx A': a })}`);
    });
    expect(frames).toBeGreaterThanOrEqual(100);
    expect(a.log()).toContain(`redirect to rtmp://127.0.0.1:${b.rtmp}/live/sr1`);
    expect(edge.log()).toMatch(new RegExp(`RTMP redirect .*sr1 from 127\\.0\\.0\\.1:${a.rtmp} to rtmp://127\\.0\\.0\\.1:${b.rtmp}/live/sr1`));
  }, 120_000);

  itSrs('an srsx edge of SRS 7 origin A plays a stream published on SRS 7 B: SRS redirects srsx to B', async () => {
    const b = started.add(await startSrs('    cluster { origin_cluster on; }'));
    const a = started.add(await startSrs(`    cluster { origin_cluster on; coworkers 127.0.0.1:${b.api}; }`));
    started.add(publishLoop(`rtmp://127.0.0.1:${b.rtmp}/live/sr2`).child);
    await waitFor('the stream on SRS B', async () => (await api<ApiStream>(b.api, 'streams')).find((s) => s.name === 'sr2' && s.publish.active));
    const edge = started.add(await startServer({ vhostBody: edgeBody([a.rtmp]) }));

    const frames = videoFrames(`rtmp://127.0.0.1:${edge.rtmp}/live/sr2`, 5);
    const st = await waitFor('the srsx edge pulling from SRS B', async () => (await api<ApiStream>(edge.api, 'streams')).find((s) => s.name === 'sr2' && s.edge?.state === 'playing' && s.edge.upstream === `127.0.0.1:${b.rtmp}`))
      .catch((e: Error) => {
        throw new Error(`${e.message}\n${logs({ 'srsx edge': edge, 'SRS A': a })}`);
      });
    expect(st.edge).toMatchObject({ upstream: `127.0.0.1:${b.rtmp}`, redirected_by: `127.0.0.1:${a.rtmp}` });
    expect(await frames).toBeGreaterThanOrEqual(100);
    expect(edge.log()).toMatch(new RegExp(`origin 127\\.0\\.0\\.1:${a.rtmp} redirects to 127\\.0\\.0\\.1:${b.rtmp}`));
    expect(await players(b.api, 'sr2')).toHaveLength(1);
  }, 120_000);

  itSrs("mixed: SRS 7 origin A asks srsx B's API; srsx origin C asks SRS 7 D's API; the edges get the streams", async () => {
    // SRS A → srsx B (stream mx1 on B), seen by an srsx edge of A
    const b = started.add(await srsxOrigin());
    const a = started.add(await startSrs(`    cluster { origin_cluster on; coworkers 127.0.0.1:${b.api}; }`));
    started.add(publishLoop(`rtmp://127.0.0.1:${b.rtmp}/live/mx1`).child);
    await waitFor('mx1 on srsx B', async () => (await api<ApiStream>(b.api, 'streams')).find((s) => s.name === 'mx1' && s.publish.active));
    const edge1 = started.add(await startServer({ vhostBody: edgeBody([a.rtmp]) }));
    expect(await videoFrames(`rtmp://127.0.0.1:${edge1.rtmp}/live/mx1`, 4).catch((e: Error) => {
      throw new Error(`${e.message}\n${logs({ 'srsx edge': edge1, 'SRS A': a, 'srsx B': b })}`);
    })).toBeGreaterThanOrEqual(75);
    expect(a.log()).toMatch(new RegExp(`redirect in cluster.*target=127\\.0\\.0\\.1:${b.rtmp}`));

    // srsx C → SRS D (stream mx2 on D), seen by an SRS edge of C
    const d = started.add(await startSrs('    cluster { origin_cluster on; }'));
    const c = started.add(await srsxOrigin());
    await coworkWith(c, [d.api]);
    started.add(publishLoop(`rtmp://127.0.0.1:${d.rtmp}/live/mx2`).child);
    await waitFor('mx2 on SRS D', async () => (await api<ApiStream>(d.api, 'streams')).find((s) => s.name === 'mx2' && s.publish.active));
    const edge2 = started.add(await startSrs(`    cluster { mode remote; origin 127.0.0.1:${c.rtmp}; }`));
    expect(await videoFrames(`rtmp://127.0.0.1:${edge2.rtmp}/live/mx2`, 4).catch((e: Error) => {
      throw new Error(`${e.message}\n${logs({ 'SRS edge': edge2, 'srsx C': c })}`);
    })).toBeGreaterThanOrEqual(75);
    expect(c.log()).toContain(`coworker 127.0.0.1:${d.api} has it: redirect to rtmp://127.0.0.1:${d.rtmp}/live/mx2`);
  }, 180_000);
});
