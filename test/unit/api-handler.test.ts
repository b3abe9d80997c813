// The HTTP API handlers on a real http.Server (127.0.0.1, free port) with a fake StatsSource.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/server/config/index.js';
import { createMetricsExporter } from '../../src/server/api/metrics.js';
import { apiSharesHttpServer, handleApi, serveStatic, vhostId, type ApiContext } from '../../src/server/api/index.js';
import type { ClientStats, StatsSource, StreamStats } from '../../src/server/api/stats-source.js';

const NOW = 1_760_000_000_000;

class FakeStats implements StatsSource {
  kicked: string[] = [];
  streamList: StreamStats[] = [
    {
      id: 'vid-b222222', vhost: '__defaultVhost__', app: 'live', name: 'livestream', tcUrl: 'rtmp://127.0.0.1/live',
      createdAt: NOW - 60_000, publisherId: 'pub00001', players: 2, frames: 1500, sendBytes: 2000, recvBytes: 1000,
      recvKbps30s: 529.4, sendKbps30s: 1058.6,
      video: { codec: 'H264', profile: 'High', level: '3.1', width: 1280, height: 720 },
      audio: { codec: 'AAC', sampleRate: 44100, channels: 2, profile: 'LC' },
    },
    {
      id: 'vid-a111111', vhost: 'other.com', app: 'app', name: 's', tcUrl: 'rtmp://other.com/app',
      createdAt: NOW, players: 0, frames: 0, sendBytes: 0, recvBytes: 0, recvKbps30s: 0, sendKbps30s: 0,
    },
  ];
  clientList: ClientStats[] = [
    {
      id: 'pub00001', vhost: '__defaultVhost__', app: 'live', streamId: 'vid-b222222', streamName: 'livestream',
      ip: '127.0.0.1', port: 50000, tcUrl: 'rtmp://127.0.0.1/live', type: 'rtmp-publish', publish: true,
      connectedAt: NOW - 12_345, sendBytes: 10, recvBytes: 1000, recvKbps30s: 529, sendKbps30s: 0,
    },
    {
      id: 'ply00002', vhost: '__defaultVhost__', app: 'live', streamId: 'vid-b222222', streamName: 'livestream',
      ip: '127.0.0.1', port: 50001, type: 'flv-play', publish: false,
      connectedAt: NOW - 1000, sendBytes: 1000, recvBytes: 10, recvKbps30s: 0, sendKbps30s: 529,
    },
  ];
  summary() {
    return {
      pid: 4242, serverId: 'vid-server1', serviceId: 'svc12345', startedAt: NOW - 100_000, connections: 2,
      sendBytes: 2000, recvBytes: 1000, recvKbps30s: 529, sendKbps30s: 1058, clientsTotal: 7, clientsErrors: 1,
    };
  }
  streams() {
    return this.streamList;
  }
  clients() {
    return this.clientList;
  }
  kickClient(id: string) {
    this.kicked.push(id);
    return this.clientList.some((c) => c.id === id);
  }
}

let server: http.Server;
let base: string;
let stats: FakeStats;
let wwwDir: string;
let outsideFile: string;

beforeAll(async () => {
  wwwDir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-www-'));
  fs.writeFileSync(path.join(wwwDir, 'index.html'), '<h1>srsx</h1>');
  fs.mkdirSync(path.join(wwwDir, 'players'));
  fs.writeFileSync(path.join(wwwDir, 'players', 'app.js'), 'console.log(1)');
  outsideFile = path.join(path.dirname(wwwDir), `${path.basename(wwwDir)}-secret.txt`);
  fs.writeFileSync(outsideFile, 'secret');
  fs.symlinkSync(outsideFile, path.join(wwwDir, 'link.txt'));

  stats = new FakeStats();
  const config = loadConfig({ env: { SRS_EXPORTER_ENABLED: 'on', SRS_EXPORTER_LABEL: 'cn', SRS_EXPORTER_TAG: 'edge' } });
  const ctx: ApiContext = { stats, config, metrics: createMetricsExporter(stats, config), now: () => NOW, argv: 'srsx serve', cwd: '/srv' };
  server = http.createServer((req, res) => {
    if (handleApi(req, res, { ...ctx, serveRoot: false })) return;
    void serveStatic(req, res, { dir: wwwDir });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(wwwDir, { recursive: true, force: true });
  fs.rmSync(outsideFile, { force: true });
});

async function getJson(p: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(base + p, init);
  return { status: r.status, body: await r.json(), headers: r.headers };
}

/** A raw request (fetch normalises paths such as /../, which is exactly what must be tested). */
function raw(p: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(base, { method, path: p }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const ENVELOPE = { code: 0, server: 'vid-server1', service: 'svc12345', pid: '4242' };

describe('HTTP API', () => {
  it('/api/v1/versions', async () => {
    const r = await getJson('/api/v1/versions');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.body).toEqual({ ...ENVELOPE, data: { major: 0, minor: 1, revision: 0, version: '0.1.0' } });
    expect(Object.keys(r.body)).toEqual(['code', 'server', 'service', 'pid', 'data']);
  });

  it('/api/ and /api/v1/ roots', async () => {
    expect((await getJson('/api/')).body).toEqual({ ...ENVELOPE, urls: { v1: 'the api version 1.0' } });
    const v1 = (await getJson('/api/v1/')).body;
    expect(v1).toMatchObject(ENVELOPE);
    expect(Object.keys(v1.urls)).toEqual(expect.arrayContaining(['versions', 'summaries', 'streams', 'clients', 'vhosts']));
  });

  it('/api/v1/summaries has SRS self and system fields', async () => {
    const { body } = await getJson('/api/v1/summaries');
    expect(body).toMatchObject(ENVELOPE);
    expect(body.data).toMatchObject({ ok: true, now_ms: NOW, self: { pid: 4242, argv: 'srsx serve', cwd: '/srv', srs_uptime: 100 } });
    for (const k of ['version', 'pid', 'ppid', 'argv', 'cwd', 'mem_kbyte', 'mem_percent', 'cpu_percent', 'srs_uptime']) {
      expect(body.data.self).toHaveProperty(k);
    }
    for (const k of ['cpu_percent', 'mem_ram_kbyte', 'cpus', 'load_1m', 'ilde_time', 'srs_recv_bytes', 'srs_send_bytes', 'conn_srs']) {
      expect(body.data.system).toHaveProperty(k);
    }
    expect(body.data.system.conn_srs).toBe(2);
    expect(body.data.system.mem_ram_kbyte).toBeGreaterThan(0);
  });

  it('/api/v1/streams lists streams ordered by id in SRS shape', async () => {
    const { body } = await getJson('/api/v1/streams');
    expect(body).toMatchObject(ENVELOPE);
    expect(body.streams.map((s: any) => s.id)).toEqual(['vid-a111111', 'vid-b222222']);
    const s = body.streams[1];
    expect(s).toEqual({
      id: 'vid-b222222', name: 'livestream', vhost: vhostId('__defaultVhost__'), app: 'live', tcUrl: 'rtmp://127.0.0.1/live',
      url: '/live/livestream', live_ms: NOW, clients: 3, frames: 1500, send_bytes: 2000, recv_bytes: 1000,
      kbps: { recv_30s: 529, send_30s: 1059 }, publish: { active: true, cid: 'pub00001' },
      video: { codec: 'H264', profile: 'High', level: '3.1', width: 1280, height: 720 },
      audio: { codec: 'AAC', sample_rate: 44100, channel: 2, profile: 'LC' },
    });
    expect(body.streams[0]).toMatchObject({ url: 'other.com/app/s', publish: { active: false }, video: null, audio: null });
    expect(body.streams[0].publish).not.toHaveProperty('cid');
  });

  it('/api/v1/streams/:id, and {"code":2048} for an unknown one', async () => {
    expect((await getJson('/api/v1/streams/vid-b222222')).body.stream.name).toBe('livestream');
    const r = await getJson('/api/v1/streams/vid-nope');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ code: 2048 });
  });

  it('start/count page like SRS (count is at least 10)', async () => {
    expect((await getJson('/api/v1/streams?start=1&count=1')).body.streams.map((s: any) => s.id)).toEqual(['vid-b222222']);
    expect((await getJson('/api/v1/streams?start=junk&count=-3')).body.streams).toHaveLength(2);
  });

  it('/api/v1/clients and /api/v1/clients/:id', async () => {
    const { body } = await getJson('/api/v1/clients');
    expect(body.clients.map((c: any) => c.id)).toEqual(['ply00002', 'pub00001']);
    const one = (await getJson('/api/v1/clients/pub00001')).body.client;
    expect(one).toEqual({
      id: 'pub00001', vhost: vhostId('__defaultVhost__'), stream: 'vid-b222222', ip: '127.0.0.1', pageUrl: '', swfUrl: '',
      tcUrl: 'rtmp://127.0.0.1/live', url: '/live/livestream', name: 'livestream', type: 'fmle-publish', publish: true,
      alive: 12.35, send_bytes: 10, recv_bytes: 1000, kbps: { recv_30s: 529, send_30s: 0 }, send_queue: { kernel_bytes: -1, server_bytes: 0, stalled_ms: 0 },
    });
    expect((await getJson('/api/v1/clients/nobody')).body).toEqual({ code: 2049 });
  });

  it('DELETE /api/v1/clients/:id kicks the client', async () => {
    const r = await getJson('/api/v1/clients/ply00002', { method: 'DELETE' });
    expect(r.body).toEqual(ENVELOPE);
    expect(stats.kicked).toEqual(['ply00002']);
    expect((await getJson('/api/v1/clients/ghost', { method: 'DELETE' })).body).toEqual({ code: 2049 });
    expect(stats.kicked).toEqual(['ply00002']);
  });

  it('JSONP: ?callback=fn wraps the JSON, and ?method=DELETE stands for the method', async () => {
    const r = await fetch(`${base}/api/v1/versions?callback=jQuery_1.cb-2`);
    expect(r.headers.get('content-type')).toBe('text/javascript');
    const text = await r.text();
    expect(text).toMatch(/^jQuery_1\.cb-2\(\{"code":0,"server":"vid-server1",.*\}\)$/);
    expect(await (await fetch(`${base}/api/v1/streams/none?callback=f`)).text()).toBe('f({"code":2048})');
    stats.kicked = [];
    expect(await (await fetch(`${base}/api/v1/clients/pub00001?callback=k&method=DELETE`)).text()).toMatch(/^k\(\{"code":0,/);
    expect(stats.kicked).toEqual(['pub00001']);
    const bad = await fetch(`${base}/api/v1/versions?callback=alert(1)`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ code: 4058 });
  });

  it('CORS: an Origin gets the permissive headers; OPTIONS is answered with 200', async () => {
    const r = await fetch(`${base}/api/v1/versions`, { headers: { Origin: 'http://example.com' } });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-methods')).toBe('*');
    expect(r.headers.get('access-control-allow-headers')).toBe('*');
    expect(r.headers.get('access-control-allow-credentials')).toBe('false');
    const plain = await fetch(`${base}/api/v1/versions`);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetch(`${base}/api/v1/clients/x`, { method: 'OPTIONS', headers: { Origin: 'http://example.com' } });
    expect(pre.status).toBe(200);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(stats.kicked).not.toContain('x');
  });

  it('unknown API paths answer as SRS (the /api/v1/ url list), list paths without the slash redirect, wrong methods 405', async () => {
    const r = await raw('/api/v1/nothing');
    expect(r.status).toBe(200);
    expect(Object.keys(JSON.parse(r.body).urls)).toEqual(expect.arrayContaining(['versions', 'rusages', 'features', 'raw', 'clusters', 'perf']));
    expect(JSON.parse((await raw('/api/v1/perf')).body).urls.perf).toBe('System performance stat'); // SRS lists it and has no handler
    expect((await raw('/api/nothing')).body).toContain('the api version 1.0');
    expect((await raw('/nothing')).status).toBe(404);
    expect(await raw('/api/v1/streams?count=1')).toEqual({ status: 302, body: 'Redirect to /api/v1/streams/?count=1' });
    expect((await raw('/api/v1', 'GET')).body).toBe('Redirect to /api/v1/');
    expect((await raw('/api/v1/streams/', 'POST')).status).toBe(405);
    expect(await raw('/api/v1/streams/', 'HEAD')).toEqual({ status: 200, body: '' });
  });

  it('/api/v1/vhosts lists configured vhosts and those with streams', async () => {
    const { body } = await getJson('/api/v1/vhosts');
    expect(body.vhosts.map((v: any) => v.name).sort()).toEqual(['__defaultVhost__', 'other.com']);
    const def = body.vhosts.find((v: any) => v.name === '__defaultVhost__');
    expect(def).toMatchObject({ id: vhostId('__defaultVhost__'), enabled: true, clients: 2, streams: 1, hls: { enabled: false } });
    expect((await getJson(`/api/v1/vhosts/${def.id}`)).body.vhost.name).toBe('__defaultVhost__');
    expect((await getJson('/api/v1/vhosts/vid-none')).body).toEqual({ code: 2014 });
  });

  it('/metrics on the API serves the exporter with SRS metric names', async () => {
    const r = await fetch(`${base}/metrics`);
    expect(r.status).toBe(200);
    const text = await r.text();
    for (const name of ['srs_node_uname_info', 'srs_build_info', 'srs_cpu_percent', 'srs_memory', 'srs_send_bytes_total',
      'srs_receive_bytes_total', 'srs_streams', 'srs_clients', 'srs_clients_total', 'srs_clients_errs_total']) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} `, 'm'));
    }
    expect(text).toMatch(/^srs_build_info\{server="vid-server1",service="svc12345",pid="4242",.*label="cn",tag="edge"\} 1$/m);
    expect(text).toMatch(/^srs_send_bytes_total 2000$/m);
    expect(text).toMatch(/^srs_streams 1$/m);
    expect(text).toMatch(/^srs_clients 2$/m);
    expect(text).toMatch(/^srs_clients_total 7$/m);
  });
});

describe('static files (http_server dir)', () => {
  it('serves index.html for / and files with their content type; HEAD has no body', async () => {
    const r = await fetch(`${base}/`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/html');
    expect(await r.text()).toBe('<h1>srsx</h1>');
    const js = await fetch(`${base}/players/app.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript');
    expect(js.headers.get('content-length')).toBe('14');
    const head = await raw('/players/app.js', 'HEAD');
    expect(head).toEqual({ status: 200, body: '' });
  });

  it('404 with SRS body for a missing file; traversal, encoded traversal and symlinks out are refused', async () => {
    expect(await raw('/missing.html')).toEqual({ status: 404, body: 'Not Found' });
    const secret = path.basename(outsideFile);
    for (const p of [`/../${secret}`, `/%2e%2e/${secret}`, `/players/..%2f..%2f${secret}`, '/link.txt', '/%00index.html', '/..\\x']) {
      const r = await raw(p);
      expect([p, r.status]).toEqual([p, 404]);
      expect(r.body).not.toContain('secret');
    }
  });

  it('refuses methods other than GET and HEAD', async () => {
    expect((await raw('/index.html', 'DELETE')).status).toBe(405);
  });

  it('a file kept in memory is read again when it changes: renamed over (HLS), rewritten in place, removed', async () => {
    const f = path.join(wwwDir, 'live.m3u8');
    fs.writeFileSync(f, '#EXTM3U\n#v1\n');
    expect(await (await fetch(`${base}/live.m3u8`)).text()).toBe('#EXTM3U\n#v1\n');
    expect(await (await fetch(`${base}/live.m3u8`)).text()).toBe('#EXTM3U\n#v1\n');
    // a new version written to a temp file and renamed over it, as the HLS writer does (same size)
    fs.writeFileSync(`${f}.tmp`, '#EXTM3U\n#v2\n');
    fs.renameSync(`${f}.tmp`, f);
    expect(await (await fetch(`${base}/live.m3u8`)).text()).toBe('#EXTM3U\n#v2\n');
    // rewritten in place (same inode), longer
    fs.writeFileSync(f, '#EXTM3U\n#v3 longer\n');
    const r = await fetch(`${base}/live.m3u8`);
    expect([r.headers.get('content-length'), await r.text()]).toEqual(['19', '#EXTM3U\n#v3 longer\n']);
    fs.rmSync(f);
    expect((await raw('/live.m3u8')).status).toBe(404);
  });
});

describe('apiSharesHttpServer', () => {
  it('is true only when both are enabled on the same address', () => {
    expect(apiSharesHttpServer(loadConfig({ env: {} }))).toBe(false);
    expect(apiSharesHttpServer(loadConfig({ env: { SRS_HTTP_API_LISTEN: '8080' } }))).toBe(true);
    expect(apiSharesHttpServer(loadConfig({ env: { SRS_HTTP_API_LISTEN: '8080', SRS_HTTP_SERVER_ENABLED: 'off' } }))).toBe(false);
  });
});

describe('HTTP API robustness', () => {
  it('a StatsSource that throws costs one request (500), and malformed escapes are 400', async () => {
    const broken: StatsSource = {
      summary: () => {
        throw new Error('stats gone');
      },
      streams: () => [],
      clients: () => [],
      kickClient: () => false,
    };
    const config = loadConfig({ env: {} });
    const srv = http.createServer((req, res) => {
      if (!handleApi(req, res, { stats: broken, config })) httpError404(res);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
      const r = await fetch(`${url}/api/v1/versions`);
      expect(r.status).toBe(500);
      expect(await r.text()).toContain('stats gone');
      // the server still answers
      expect((await fetch(`${url}/api/v1/versions`)).status).toBe(500);
      expect((await fetch(`${url}/other`)).status).toBe(404);
    } finally {
      await new Promise((resolve) => srv.close(resolve));
    }
    // a malformed escape is the client's error: 400 (it threw URIError on the HTTP-FLV path)
    for (const p of ['/api/v1/clients/%E0%A4%A', '/api/v1/streams/%', '/api/v1/versions?callback=%zz', '/api/v1/vhosts?x=%E0']) {
      expect([p, await raw(p)]).toEqual([p, { status: 400, body: 'Bad Request' }]);
    }
    expect((await raw('//api/v1/versions')).status).toBe(404); // not re-rooted onto another "host"
  });
});

function httpError404(res: http.ServerResponse): void {
  res.writeHead(404);
  res.end();
}

describe('http_api auth (SRS SrsHttpAuthMux, srs-bench Http_Api_Basic_Auth)', () => {
  let srv: http.Server;
  let url: string;
  let authStats: FakeStats;
  const basic = (userPass: string) => `Basic ${Buffer.from(userPass).toString('base64')}`;

  beforeAll(async () => {
    authStats = new FakeStats();
    // the env form, as srs-bench starts SRS for this case
    const config = loadConfig({ env: { SRS_HTTP_API_AUTH_ENABLED: 'on', SRS_HTTP_API_AUTH_USERNAME: 'admin', SRS_HTTP_API_AUTH_PASSWORD: 'admin' } });
    expect(config.httpApi.auth).toEqual({ enabled: true, username: 'admin', password: 'admin' });
    srv = http.createServer((req, res) => {
      if (!handleApi(req, res, { stats: authStats, config, now: () => NOW })) httpError404(res);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => srv.close(resolve));
  });

  it('answers 200 with admin:admin, 401 with a wrong password or none (WWW-Authenticate: Basic)', async () => {
    const ok = await fetch(`${url}/api/v1/versions`, { headers: { Authorization: basic('admin:admin') } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { code: number }).code).toBe(0);
    for (const headers of [{ Authorization: basic('admin:123456') }, {} as Record<string, string>, { Authorization: basic('root:admin') }]) {
      const r = await fetch(`${url}/api/v1/versions`, { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="SRS"');
      expect(await r.text()).toBe('');
    }
    // not Basic, or no user:password inside: 401 without a challenge, as SRS
    for (const a of ['Bearer abc', 'Basic ', basic('adminadmin')]) {
      const r = await fetch(`${url}/api/v1/versions`, { headers: { Authorization: a } });
      expect([a, r.status, r.headers.get('www-authenticate')]).toEqual([a, 401, null]);
    }
  });

  it('the credentials in the URL (http://admin:admin@host/, what srs-bench sends) work', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${url}/api/v1/versions`);
      http.get({ host: u.hostname, port: u.port, path: u.pathname, auth: 'admin:admin' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(r).toBe(200);
  });

  it('DELETE, and ?method=DELETE over JSONP, kick nobody without auth', async () => {
    authStats.kicked = [];
    expect((await fetch(`${url}/api/v1/clients/ply00002`, { method: 'DELETE' })).status).toBe(401);
    expect((await fetch(`${url}/api/v1/clients/ply00002?callback=k&method=DELETE`)).status).toBe(401);
    expect((await fetch(`${url}/api/v1/clients/ply00002`, { method: 'DELETE', headers: { Authorization: basic('admin:x') } })).status).toBe(401);
    expect(authStats.kicked).toEqual([]);
    const r = await fetch(`${url}/api/v1/clients/ply00002?callback=k&method=DELETE`, { headers: { Authorization: basic('admin:admin') } });
    expect(await r.text()).toMatch(/^k\(\{"code":0,/);
    expect(authStats.kicked).toEqual(['ply00002']);
  });

  it('applies to /api/ paths only; CORS preflight is answered before it', async () => {
    // no "/api/" in it, as SRS: the mux's redirect to /api/ is answered without credentials
    expect((await fetch(`${url}/api`, { redirect: 'manual' })).status).toBe(302);
    expect((await fetch(`${url}/`)).status).toBe(200);
    const pre = await fetch(`${url}/api/v1/clients/x`, { method: 'OPTIONS', headers: { Origin: 'http://example.com' } });
    expect(pre.status).toBe(200);
  });

  it('off by default: no Authorization needed', async () => {
    expect(loadConfig({ env: {} }).httpApi.auth.enabled).toBe(false);
    expect((await fetch(`${base}/api/v1/versions`)).status).toBe(200);
  });
});
