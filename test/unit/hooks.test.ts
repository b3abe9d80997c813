// SRS's HTTP callbacks: the JSON bodies (fields and order as srs_app_http_hooks.cpp), the answer
// rules (HTTP 200/201 with `0` or {"code":0} allows; anything else denies), several URLs in
// order, timeouts; against a real HTTP server on 127.0.0.1. And the config side: http_hooks and
// SRS_VHOST_HTTP_HOOKS_* read as SRS, SRS_SERVER_ID / the id file next to the pid file.
import http from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hlsNotifyUrl, hookBody, HttpHooks, judgeAnswer, streamUrl, type HookClient } from '../../src/server/hooks/http-hooks.js';
import { loadConfig } from '../../src/server/config/index.js';
import type { HttpHooksConfig } from '../../src/server/config/hooks.js';
import { resolveServerId, serverIdPath } from '../../src/server/server-id.js';
import type { Logger } from '../../src/server/log.js';

function memLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (l: string) => (m: string) => lines.push(`${l} ${m}`);
  return { lines, verbose: put('V'), info: put('I'), trace: put('T'), warn: put('W'), error: put('E'), enabled: () => true, reopen: () => {}, close: async () => {} };
}

interface Hit {
  path: string;
  body: Record<string, unknown>;
}

/** A callback server: `answer(path)` decides status and body; every POST is recorded. */
async function callbackServer(answer: (p: string) => { status: number; body: string; delayMs?: number }): Promise<{ url: (p: string) => string; hits: Hit[]; close: () => Promise<void> }> {
  const hits: Hit[] = [];
  const srv = http.createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      hits.push({ path: req.url ?? '', body: JSON.parse(data) as Record<string, unknown> });
      const a = answer(req.url ?? '');
      const send = () => {
        res.writeHead(a.status, { 'Content-Type': 'application/json' });
        res.end(a.body);
      };
      if (a.delayMs) setTimeout(send, a.delayMs).unref();
      else send();
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    url: (p) => `http://127.0.0.1:${port}${p}`,
    hits,
    close: () => new Promise<void>((r) => {
      srv.closeAllConnections();
      srv.close(() => r());
    }),
  };
}

const client: HookClient = {
  clientId: 'c1', ip: '127.0.0.1', vhost: '__defaultVhost__', app: 'live', stream: 'livestream', param: '?token=abc',
  tcUrl: 'rtmp://127.0.0.1:1935/live', pageUrl: '', streamId: 'vid-1',
};
const ids = { serverId: 'vid-server', serviceId: 'svc' };

function hooksWith(urls: Partial<HttpHooksConfig['urls']>, enabled = true): HttpHooksConfig {
  const all = { on_connect: [], on_close: [], on_publish: [], on_unpublish: [], on_play: [], on_stop: [], on_dvr: [], on_hls: [], ...urls };
  return { enabled, urls: all, hlsNotify: [] };
}

describe('http hooks: bodies and answers', () => {
  it('on_hls_notify URLs: SRS variables replaced; a ts_url on http(s) is fetched as it is', () => {
    const v = { serverId: 'vid-s', serviceId: 'svc', app: 'live', stream: 's', tsUrl: 's-3.ts', param: '?token=abc' };
    expect(hlsNotifyUrl('http://127.0.0.1:8085/api/v1/hls/[server_id]/[service_id]/[app]/[stream]/[ts_url][param]', v)).toBe('http://127.0.0.1:8085/api/v1/hls/vid-s/svc/live/s/s-3.ts?token=abc');
    expect(hlsNotifyUrl('http://127.0.0.1:8085/n/[ts_url]', { ...v, tsUrl: 'https://cdn.example/live/s-3.ts' })).toBe('https://cdn.example/live/s-3.ts');
  });

  it('bodies carry SRS fields in SRS order', () => {
    expect(Object.keys(hookBody('on_connect', ids, client))).toEqual(['server_id', 'service_id', 'action', 'client_id', 'ip', 'vhost', 'app', 'stream', 'param', 'tcUrl', 'pageUrl']);
    expect(Object.keys(hookBody('on_publish', ids, client))).toEqual(['server_id', 'service_id', 'action', 'client_id', 'ip', 'vhost', 'app', 'tcUrl', 'stream', 'param', 'stream_url', 'stream_id']);
    expect(Object.keys(hookBody('on_play', ids, client))).toEqual(['server_id', 'service_id', 'action', 'client_id', 'ip', 'vhost', 'app', 'stream', 'tcUrl', 'param', 'pageUrl', 'stream_url', 'stream_id']);
    expect(Object.keys(hookBody('on_close', ids, client, { send_bytes: 1, recv_bytes: 2 }))).toEqual(['server_id', 'service_id', 'action', 'client_id', 'ip', 'vhost', 'app', 'send_bytes', 'recv_bytes']);
    expect(hookBody('on_unpublish', ids, client)).toMatchObject({ action: 'on_unpublish', server_id: 'vid-server', param: '?token=abc', stream_url: '/live/livestream', stream_id: 'vid-1' });
    expect(Object.keys(hookBody('on_hls', ids, client))).toContain('m3u8_url');
    expect(streamUrl('__defaultVhost__', 'live', 'livestream.flv')).toBe('/live/livestream');
    expect(streamUrl('a.com', 'live', 's')).toBe('a.com/live/s');
  });

  it('answers: 200/201 with 0 or {"code":0} allow; everything else denies', () => {
    expect(judgeAnswer(200, '0')).toBeUndefined();
    expect(judgeAnswer(200, '{"code":0}')).toBeUndefined();
    expect(judgeAnswer(201, '{"code":0,"data":null}')).toBeUndefined();
    expect(judgeAnswer(200, '{"code":1}')).toBe('response code 1');
    expect(judgeAnswer(200, '')).toBe('empty response');
    expect(judgeAnswer(200, 'ok')).toMatch(/not JSON/);
    expect(judgeAnswer(200, '{"data":1}')).toMatch(/no integer code/);
    expect(judgeAnswer(200, '1')).toMatch(/number code/);
    expect(judgeAnswer(500, '{"code":0}')).toBe('HTTP status 500');
    expect(judgeAnswer(404, '0')).toBe('HTTP status 404');
  });
});

describe('http hooks: calls to a real callback server', () => {
  let cb: Awaited<ReturnType<typeof callbackServer>>;
  beforeEach(async () => {
    cb = await callbackServer((p) => {
      if (p.startsWith('/deny')) return { status: 200, body: '{"code":403}' };
      if (p.startsWith('/500')) return { status: 500, body: '{"code":0}' };
      if (p.startsWith('/slow')) return { status: 200, body: '0', delayMs: 3000 };
      return { status: 200, body: '{"code":0}' };
    });
  });
  afterEach(() => cb.close());

  it('several URLs are called in order; the first failure stops the rest and denies', async () => {
    const log = memLog();
    const h = new HttpHooks(() => ids, log, 2000);
    const ok = await h.call(hooksWith({ on_publish: [cb.url('/a'), cb.url('/b')] }), 'on_publish', client);
    expect(ok).toEqual({ ok: true });
    expect(cb.hits.map((x) => x.path)).toEqual(['/a', '/b']);
    expect(cb.hits[0]!.body).toMatchObject({ action: 'on_publish', client_id: 'c1', param: '?token=abc', server_id: 'vid-server', stream: 'livestream' });

    cb.hits.length = 0;
    const denied = await h.call(hooksWith({ on_publish: [cb.url('/a'), cb.url('/deny'), cb.url('/c')] }), 'on_publish', client);
    expect(denied.ok).toBe(false);
    expect(denied.reason).toContain('response code 403');
    expect(cb.hits.map((x) => x.path)).toEqual(['/a', '/deny']);
    expect(log.lines.some((l) => l.startsWith('W http hook denied'))).toBe(true);

    expect((await h.call(hooksWith({ on_play: [cb.url('/500')] }), 'on_play', client)).reason).toContain('HTTP status 500');
  });

  it('a hook that does not answer in time denies; a refused connection denies; notifications never deny', async () => {
    const h = new HttpHooks(() => ids, memLog(), 300);
    const t0 = Date.now();
    const slow = await h.call(hooksWith({ on_connect: [cb.url('/slow')] }), 'on_connect', client);
    expect(slow.ok).toBe(false);
    expect(slow.reason).toContain('no answer within 300 ms');
    expect(Date.now() - t0).toBeLessThan(2000);
    const refused = await h.call(hooksWith({ on_connect: ['http://127.0.0.1:1/x'] }), 'on_connect', client);
    expect(refused.ok).toBe(false);
    expect((await h.call(hooksWith({ on_stop: [cb.url('/deny')] }), 'on_stop', client)).ok).toBe(true);
    expect((await h.call(hooksWith({ on_connect: [cb.url('/deny')] }, false), 'on_connect', client)).ok).toBe(true);
  });
});

describe('http hooks and server id: config', () => {
  it('http_hooks from the file and from SRS_VHOST_HTTP_HOOKS_*', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-hooks-'));
    writeFileSync(path.join(dir, 'h.conf'), `listen 1935;
vhost __defaultVhost__ {
    http_hooks {
        enabled on;
        on_publish http://127.0.0.1:8085/api/v1/streams http://127.0.0.1:8086/b;
        on_play http://127.0.0.1:8085/api/v1/sessions;
        on_hls_notify http://127.0.0.1:8085/notify;
    }
}
`);
    const c = loadConfig({ file: 'h.conf', cwd: dir, env: {} });
    const h = c.vhosts[0]!.httpHooks;
    expect(h.enabled).toBe(true);
    expect(h.urls.on_publish).toEqual(['http://127.0.0.1:8085/api/v1/streams', 'http://127.0.0.1:8086/b']);
    expect(h.urls.on_play).toEqual(['http://127.0.0.1:8085/api/v1/sessions']);
    expect(h.hlsNotify).toEqual(['http://127.0.0.1:8085/notify']);
    expect(c.warnings.some((w) => w.includes('on_hls_notify'))).toBe(false);
    const e = loadConfig({ envOnly: true, env: { SRS_VHOST_HTTP_HOOKS_ENABLED: 'on', SRS_VHOST_HTTP_HOOKS_ON_CONNECT: 'http://127.0.0.1:1/a http://127.0.0.1:1/b' } });
    expect(e.vhosts[0]!.httpHooks.enabled).toBe(true);
    expect(e.vhosts[0]!.httpHooks.urls.on_connect).toEqual(['http://127.0.0.1:1/a', 'http://127.0.0.1:1/b']);
  });

  it('env-only: no file, the default vhost, daemon off and console logs unless set; unknown SRS_* warn', () => {
    const c = loadConfig({ envOnly: true, file: 'does-not-exist.conf', env: { SRS_LISTEN: '19350', SRS_SERVER_ID: 'srs-id-1', SRS_WORK_DIR: '/tmp', SRS_NOT_A_SETTING: 'x', SRS_SRT_SERVER_LISTEN: '10080' } });
    expect(c.source).toBe('<env-only>');
    expect(c.listen).toEqual([{ host: '0.0.0.0', port: 19350 }]);
    expect(c.vhosts.map((v) => v.name)).toEqual(['__defaultVhost__']);
    expect(c.daemon).toBe(false);
    expect(c.log.tank).toBe('console');
    expect(c.serverId).toBe('srs-id-1');
    expect(c.workDir).toBe('/tmp');
    expect(c.warnings).toContain('env SRS_NOT_A_SETTING: not an SRS setting srsx implements (ignored)');
    expect(c.warnings).toContain('env SRS_SRT_SERVER_LISTEN: not an SRS setting srsx implements (ignored)');
    expect(c.warnings.some((w) => w.includes('SRS_LISTEN') || w.includes('SRS_SERVER_ID'))).toBe(false);
    // SRS_ENV_ONLY present (even empty) is env-only too; SRS_DAEMON=on is kept
    const d = loadConfig({ env: { SRS_ENV_ONLY: '', SRS_DAEMON: 'on', SRS_SRS_LOG_TANK: 'file' } });
    expect(d.source).toBe('<env-only>');
    expect(d.daemon).toBe(true);
    expect(d.log.tank).toBe('file');
  });

  it('the server id: explicit wins and is stored; else the id file next to the pid file survives restarts', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-id-'));
    expect(serverIdPath('./objs/srs.pid')).toBe('./objs/srs.id');
    expect(serverIdPath('./objs/srs')).toBe('./objs/srs.id');
    const first = resolveServerId({ pidFile: 'objs/srs.pid', cwd: dir });
    expect(first).toMatch(/^vid-[a-z0-9]{7}$/);
    expect(readFileSync(path.join(dir, 'objs/srs.id'), 'utf8')).toBe(first);
    expect(resolveServerId({ pidFile: 'objs/srs.pid', cwd: dir })).toBe(first);
    expect(resolveServerId({ pidFile: 'objs/srs.pid', cwd: dir, explicit: 'mine' })).toBe('mine');
    expect(readFileSync(path.join(dir, 'objs/srs.id'), 'utf8')).toBe('mine');
  });
});
