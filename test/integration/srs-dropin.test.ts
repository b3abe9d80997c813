// srsx as a drop-in for SRS, on real processes: SRS's command line through a one-line `srs`
// script (`exec node bin/srsx serve "$@"`), env-only mode with SRS_WORK_DIR / SRS_PID /
// SRS_SERVER_ID, the server id that survives restarts, `daemon on`, SRS's HTTP callbacks against
// a real callback server that allows and denies, and the API answers SRS scripts read.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RtmpClient } from '../../src/client/rtmp-client.js';
import { publishFile } from '../../src/client/publish-file.js';
import { VERSION } from '../../src/version.js';
import { freePort, REPO } from '../helpers/env.js';
import { sleep, startServer, stopAfterEach, stopChild } from '../helpers/serve.js';
import { startHookServer, type HookServer } from '../helpers/hook-server.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'srsx-dropin-'));
const SRS = path.join(work, 'srs');
writeFileSync(SRS, `#!/bin/sh\nexec ${process.execPath} ${path.join(REPO, 'bin/srsx')} serve "$@"\n`);
chmodSync(SRS, 0o755);

function srsSync(args: string[], env: Record<string, string> = {}, cwd = work): { code: number | null; out: string; err: string } {
  const r = spawnSync(SRS, args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** `srs ARGS` to its end, asynchronously (several at once). */
function srsRun(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(SRS, args, { cwd: work, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out, err });
    });
  });
}

/** Starts `srs ARGS` and waits until its API answers; the log is collected. */
async function srsServe(args: string[], env: Record<string, string>, api: number): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(SRS, args, { cwd: work, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`srs ${args.join(' ')} exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`srs ${args.join(' ')} did not answer in 20 s:\n${out}`);
    try {
      if ((await fetch(`http://127.0.0.1:${api}/api/v1/versions`)).ok) break;
    } catch {
      // not yet
    }
    await sleep(150);
  }
  return { child, log: () => out };
}

async function api(port: number, p: string): Promise<any> {
  const r = await fetch(`http://127.0.0.1:${port}${p}`);
  expect(r.status).toBe(200);
  return r.json();
}

describe('SRS command line through a one-line srs script', () => {
  const started = stopAfterEach();

  it('-v/-V print the version, -h helps, -t checks, a bad option is one line', async () => {
    // in parallel: each is two node start-ups (the script's and bin/srsx's server child)
    const [v, V, help, t, bad, unknown] = await Promise.all([['-v'], ['-V'], ['-h'], ['-t', '-e'], ['-t', '-c', 'missing.conf'], ['-x']].map((a) => srsRun(a)));
    expect(v).toMatchObject({ code: 0, out: `${VERSION}\n` });
    expect(V!.out).toBe(`${VERSION}\n`);
    expect(help!.code).toBe(0);
    expect(help!.out).toContain('-e, --env-only');
    expect(t!.code).toBe(0);
    expect(t!.out).toContain('test is successful');
    expect(bad!.code).toBe(2);
    expect(bad!.err).toContain('test is failed');
    expect(unknown!.code).toBe(2);
    expect(unknown!.err).not.toMatch(/\n\s+at /);
  });

  it('-e: settings from SRS_*, SRS_WORK_DIR entered after the config, the pid file there, SRS_SERVER_ID in the API, unknown SRS_* warned', async () => {
    const [rtmp, apiPort] = [await freePort(), await freePort()];
    mkdirSync(path.join(work, 'wd1/objs'), { recursive: true });
    const s = await srsServe(['-e'], {
      SRS_LISTEN: String(rtmp), SRS_HTTP_API_ENABLED: 'on', SRS_HTTP_API_LISTEN: String(apiPort), SRS_WORK_DIR: 'wd1', SRS_PID: 'objs/x.pid',
      SRS_SERVER_ID: 'srs-id-dropin', SRS_NOT_A_SETTING: 'on',
    }, apiPort);
    started.add(s.child);
    const v = await api(apiPort, '/api/v1/versions');
    expect(v.server).toBe('srs-id-dropin');
    // env-only logs to the console (SRS: console unless SRS_SRS_LOG_TANK is set)
    expect(s.log()).toContain('config=<env-only>');
    expect(s.log()).toContain('env SRS_NOT_A_SETTING: not an SRS setting srsx implements');
    const pid = Number(readFileSync(path.join(work, 'wd1/objs/x.pid'), 'utf8'));
    expect(Number((await api(apiPort, '/api/v1/summaries')).pid)).toBe(pid);
    expect(readFileSync(path.join(work, 'wd1/objs/x.id'), 'utf8')).toBe('srs-id-dropin');
  });

  it('without SRS_SERVER_ID the server id is kept in the id file next to the pid file, across restarts', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const [rtmp, apiPort] = [await freePort(), await freePort()];
      const s = await srsServe(['-e'], { SRS_LISTEN: String(rtmp), SRS_HTTP_API_ENABLED: 'on', SRS_HTTP_API_LISTEN: String(apiPort), SRS_PID: 'objs/keep.pid' }, apiPort);
      ids.push((await api(apiPort, '/api/v1/versions')).server as string);
      await stopChild(s.child);
    }
    expect(ids[0]).toMatch(/^vid-[a-z0-9]{7}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(readFileSync(path.join(work, 'objs/keep.id'), 'utf8')).toBe(ids[0]);
  });

  it('daemon on: the command returns 0 once the server runs in the background and its pid file names it', async () => {
    const [rtmp, apiPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(path.join(work, 'daemon-'));
    writeFileSync(path.join(dir, 'd.conf'), `listen ${rtmp};\ndaemon on;\npid ./objs/d.pid;\nsrs_log_tank file;\nsrs_log_file ./objs/d.log;\nhttp_api { enabled on; listen ${apiPort}; }\nvhost __defaultVhost__ {}\n`);
    const t0 = Date.now();
    const r = srsSync(['-c', 'd.conf'], {}, dir);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const pid = Number(readFileSync(path.join(dir, 'objs/d.pid'), 'utf8'));
    try {
      expect(r.out).toContain(`pid ${pid}`);
      expect(Number((await api(apiPort, '/api/v1/summaries')).pid)).toBe(pid);
      // detached: its own session
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      expect(Number(fields[3])).toBe(pid); // session id
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    for (let i = 0; i < 50 && existsSync(path.join(dir, 'objs/d.pid')); i++) await sleep(100);
    expect(existsSync(path.join(dir, 'objs/d.pid'))).toBe(false);
  });
});

interface Hit {
  path: string;
  body: Record<string, any>;
}

describe('http_hooks against a real callback server', () => {
  const started = stopAfterEach();
  let cb: HookServer;
  let cbPort = 0;
  const hits: Hit[] = [];
  beforeAll(async () => {
    // allows a client whose param has token=good, denies the rest; on_connect denies app "secret"
    cb = await startHookServer((body, path) => {
      hits.push({ path, body });
      let code = 0;
      if (body.action === 'on_connect' && body.app === 'secret') code = 1;
      if ((body.action === 'on_publish' || body.action === 'on_play') && !String(body.param).includes('token=good')) code = 403;
      return code;
    });
    cbPort = cb.port;
  });
  afterAll(() => cb.stop());

  const hooksBody = () => `
    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }
    http_hooks {
        enabled on;
        on_connect http://127.0.0.1:${cbPort}/connect;
        on_close http://127.0.0.1:${cbPort}/close;
        on_publish http://127.0.0.1:${cbPort}/publish http://127.0.0.1:${cbPort}/publish2;
        on_unpublish http://127.0.0.1:${cbPort}/unpublish;
        on_play http://127.0.0.1:${cbPort}/play;
        on_stop http://127.0.0.1:${cbPort}/stop;
    }`;

  const waitFor = async (pred: () => boolean, what: string) => {
    for (let i = 0; i < 300 && !pred(); i++) await sleep(50);
    if (!pred()) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(hits.map((h) => h.path))}`);
  };

  it('connect, publish and play are decided by the callbacks (token in param); close, unpublish and stop are reported', async () => {
    hits.length = 0;
    const server = started.add(await startServer({ vhostBody: hooksBody() }));
    const base = `rtmp://127.0.0.1:${server.rtmp}`;

    // on_connect denies app "secret"
    const denied = new RtmpClient(`${base}/secret/s`);
    await expect(denied.connect()).rejects.toThrow(/connect refused|closed/);
    denied.close();

    // a publisher without the token is refused; with it, allowed (both publish URLs called, in order)
    const bad = new RtmpClient(`${base}/live/s1?token=bad`);
    await bad.connect();
    await expect(bad.publish()).rejects.toThrow();
    bad.close();
    hits.length = 0;
    const pub = new RtmpClient(`${base}/live/s1?token=good`);
    await pub.connect();
    await pub.publish();
    // (the refused publisher's on_close may arrive meanwhile)
    const mine = hits.filter((h) => h.path !== '/close');
    expect(mine.map((h) => h.path)).toEqual(['/connect', '/publish', '/publish2']);
    const connect = mine[0]!.body;
    expect(connect).toMatchObject({ action: 'on_connect', app: 'live', vhost: '__defaultVhost__', ip: '127.0.0.1', tcUrl: `rtmp://127.0.0.1:${server.rtmp}/live` });
    expect(Object.keys(connect)).toEqual(['server_id', 'service_id', 'action', 'client_id', 'ip', 'vhost', 'app', 'stream', 'param', 'tcUrl', 'pageUrl']);
    const publish = mine[1]!.body;
    expect(publish).toMatchObject({ action: 'on_publish', stream: 's1', param: '?token=good', stream_url: '/live/s1', client_id: connect.client_id });
    const versions = await api(server.api, '/api/v1/versions');
    expect(publish.server_id).toBe(versions.server);

    // the API shows the publisher's real tcUrl
    const streams = (await api(server.api, '/api/v1/streams/')).streams as any[];
    expect(streams.find((s) => s.name === 's1')?.tcUrl).toBe(`rtmp://127.0.0.1:${server.rtmp}/live`);

    // HTTP-FLV play: 403 without the token, allowed with it (and shown as SRS shows FLV clients)
    const no = await fetch(`http://127.0.0.1:${server.http}/live/s1.flv?token=bad`);
    expect(no.status).toBe(403);
    await no.text();
    const ctl = new AbortController();
    const yes = await fetch(`http://127.0.0.1:${server.http}/live/s1.flv?token=good`, { signal: ctl.signal });
    expect(yes.status).toBe(200);
    const play = hits.filter((h) => h.path === '/play').at(-1)!.body;
    expect(play).toMatchObject({ action: 'on_play', stream: 's1', param: '?token=good', tcUrl: 'rtmp://__defaultVhost__/live', stream_url: '/live/s1' });
    const clients = (await api(server.api, '/api/v1/clients/')).clients as any[];
    const flv = clients.find((c) => c.type === 'flv-play');
    expect(flv).toMatchObject({ name: 's1', tcUrl: 'rtmp://__defaultVhost__/live', url: '/live/s1' });
    ctl.abort();
    await waitFor(() => hits.some((h) => h.path === '/stop'), 'on_stop of the FLV player');

    // RTMP play without the token: refused
    const p = new RtmpClient(`${base}/live/s1?token=nope`);
    await p.connect();
    await expect(p.play()).rejects.toThrow();
    p.close();

    // the publisher leaves: on_unpublish, then on_close with its byte counts
    pub.close();
    await waitFor(() => hits.some((h) => h.path === '/close' && h.body.client_id === connect.client_id), 'on_close of the publisher');
    const unpublish = hits.find((h) => h.path === '/unpublish')!.body;
    expect(unpublish).toMatchObject({ action: 'on_unpublish', stream: 's1', param: '?token=good', client_id: connect.client_id });
    const close = hits.find((h) => h.path === '/close' && h.body.client_id === connect.client_id)!.body;
    expect(close.recv_bytes).toBeGreaterThan(0);
    expect(server.log()).not.toContain('connection handler failed');
  });

  it('on_hls for each segment and on_dvr for the finished file, described by the publisher', async () => {
    hits.length = 0;
    const server = started.add(await startServer({
      vhostBody: `
    hls { enabled on; hls_fragment 2; hls_window 60; hls_path ./html; hls_dispose 0; }
    dvr { enabled on; dvr_plan session; dvr_path ./dvr/[app]/[stream].flv; }
    http_hooks { enabled on; on_publish http://127.0.0.1:${cbPort}/publish; on_hls http://127.0.0.1:${cbPort}/hls; on_dvr http://127.0.0.1:${cbPort}/dvr; }`,
    }));
    expect(server.log()).not.toContain('on_dvr is not implemented');
    await publishFile(path.join(REPO, 'test/fixtures/srs-bench/avatar.flv'), `rtmp://127.0.0.1:${server.rtmp}/live/rec?token=good`, { realtime: false, loop: false });
    await waitFor(() => hits.some((h) => h.path === '/dvr'), 'on_dvr');
    // notifications, not ordered between the two: the last segments' on_hls may come after on_dvr
    await waitFor(() => hits.filter((h) => h.path === '/hls').length >= 2, 'two on_hls');
    const hls = hits.filter((h) => h.path === '/hls').map((h) => h.body);
    expect(hls.length).toBeGreaterThanOrEqual(2);
    expect(hls[0]).toMatchObject({ action: 'on_hls', app: 'live', stream: 'rec', param: '?token=good', seq_no: 0, m3u8_url: 'live/rec.m3u8', url: 'live/rec-0.ts', file: './html/live/rec-0.ts', m3u8: './html/live/rec.m3u8', stream_url: '/live/rec' });
    expect(hls[0]!.duration).toBeGreaterThan(1);
    expect(hls[0]!.client_id).toBe(hits.find((h) => h.path === '/publish')!.body.client_id);
    const dvr = hits.find((h) => h.path === '/dvr')!.body;
    expect(dvr).toMatchObject({ action: 'on_dvr', app: 'live', stream: 'rec', file: './dvr/live/rec.flv', cwd: server.dir });
    expect(existsSync(path.join(server.dir, 'dvr/live/rec.flv'))).toBe(true);
  });

  it('a callback that is down denies connect (and the server keeps serving)', async () => {
    const dead = await freePort();
    const server = started.add(await startServer({ vhostBody: `http_hooks { enabled on; on_connect http://127.0.0.1:${dead}/x; }` }));
    const c = new RtmpClient(`rtmp://127.0.0.1:${server.rtmp}/live/s`);
    await expect(c.connect()).rejects.toThrow();
    c.close();
    expect(server.log()).toContain('http hook denied: on_connect');
    expect((await fetch(`http://127.0.0.1:${server.api}/api/v1/versions`)).status).toBe(200);
  });
});

describe('HTTP API answers SRS scripts read (real process)', () => {
  const started = stopAfterEach();

  it('rusages, self/system proc stats, meminfos, features, raw, unknown paths, Server header', async () => {
    const server = started.add(await startServer());
    const pid = Number(readFileSync(path.join(server.dir, 'srs.pid'), 'utf8'));
    const self = await api(server.api, '/api/v1/self_proc_stats');
    expect(self.data).toMatchObject({ ok: true, pid });
    expect(self.data.rss).toBeGreaterThan(0);
    expect(self.data.num_threads).toBeGreaterThan(0);
    const sys = await api(server.api, '/api/v1/system_proc_stats');
    expect(sys.data.ok).toBe(true);
    expect(sys.data.user + sys.data.idle).toBeGreaterThan(0);
    const mem = await api(server.api, '/api/v1/meminfos');
    expect(mem.data.MemTotal).toBeGreaterThan(0);
    expect(mem.data.percent_ram).toBeGreaterThan(0);
    expect(mem.data.percent_ram).toBeLessThan(1);
    const ru = await api(server.api, '/api/v1/rusages');
    expect(ru.data.ru_maxrss).toBeGreaterThan(10_000);
    expect((await api(server.api, '/api/v1/features')).data.features).toMatchObject({ callback: true, hls: true, api: true });
    expect((await api(server.api, '/api/v1/raw?rpc=raw')).http_api).toMatchObject({ enabled: true, listen: String(server.api) });
    expect(await api(server.api, '/api/v1/raw?rpc=reload')).toEqual({ code: 1061 });
    expect((await api(server.api, '/api/v1/nope')).urls.versions).toBe('the version of SRS');
    const r = await fetch(`http://127.0.0.1:${server.api}/api/v1/streams`, { redirect: 'manual' });
    expect([r.status, r.headers.get('location')]).toEqual([302, '/api/v1/streams/']);
    expect(r.headers.get('server')).toBe(`srsx/${VERSION}`);
    const v = await api(server.api, '/api/v1/versions');
    expect(v.data.version).toBe(VERSION);
  });
});
