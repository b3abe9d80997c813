// The HTTP listeners' limits and the connection guard on real sockets (127.0.0.1, free ports):
// malformed escapes are 400, a throwing handler costs its connection only, pipelining is capped,
// pipelined HTTP-FLV requests leave no ghost stream, and an FLV player's backlog is counted once.
import http from 'node:http';
import net from 'node:net';
import { loadConfig } from '../../src/server/config/index.js';
import { compileMount } from '../../src/server/http/flv-mount.js';
import { serveFlvPlayer } from '../../src/server/http/flv-player.js';
import { createGuardedHttpServer, HTTP_LIMITS, httpServerOptions } from '../../src/server/http/limits.js';
import { badTarget, tryDecode } from '../../src/server/http/url.js';
import { describeFailure, guard, HANDLER_FAILED } from '../../src/server/guard.js';
import { ClientTable } from '../../src/server/live/clients.js';
import { SourceRegistry } from '../../src/server/live/registry.js';
import type { Logger } from '../../src/server/log.js';

function memoryLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, cid?: string) => void lines.push(`[${level}][${cid ?? ''}] ${msg}`);
  return {
    lines,
    verbose: at('verbose'),
    info: at('info'),
    trace: at('trace'),
    warn: at('warn'),
    error: at('error'),
    enabled: () => true,
    reopen: () => {},
    close: async () => {},
  };
}

async function listen(srv: http.Server): Promise<number> {
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return (srv.address() as net.AddressInfo).port;
}

function close(srv: http.Server): Promise<void> {
  srv.closeAllConnections();
  return new Promise((resolve) => srv.close(() => resolve()));
}

/** Sends `data` raw; resolves with what came back when the server closes (or after `ms`). */
// the exchanges below end when the server closes; the timeout only bounds a broken server (a loaded CI
// machine took over 2 s once)
function rawExchange(port: number, data: string, ms = 10_000): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(data));
    let text = '';
    let timedOut = false;
    s.on('data', (d) => (text += d.toString('latin1')));
    s.on('error', () => {});
    const t = setTimeout(() => {
      timedOut = true;
      s.destroy();
    }, ms);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ text, closedByServer: !timedOut });
    });
  });
}

describe('url decoding never throws', () => {
  it('tryDecode / badTarget', () => {
    expect(tryDecode('/live/a%20b.flv')).toBe('/live/a b.flv');
    for (const bad of ['%', '%E0%A4%A', '%zz', '%ED%A0%80', 'a%']) expect([bad, tryDecode(bad)]).toEqual([bad, undefined]);
    expect(badTarget('/live/%.flv')).toMatch(/path/);
    expect(badTarget('/live/%E0%A4%A.flv')).toMatch(/path/);
    expect(badTarget('/api/v1/versions?callback=%')).toMatch(/query/);
    expect(badTarget('/api/v1/versions?callback=x&a=%41+b')).toBeUndefined();
    expect(badTarget(undefined)).toBeUndefined();
  });

  it('an FLV mount does not match (nor throw on) a malformed escape', () => {
    const config = loadConfig({ env: {} });
    const mount = compileMount({ ...config.vhosts[0]!, httpRemux: { enabled: true, mount: '[vhost]/[app]/[stream].flv' } })!;
    expect(mount.match('/live/a%20b.flv')).toEqual({ app: 'live', stream: 'a b' });
    expect(mount.match('/live/%.flv')).toBeUndefined();
    expect(mount.match('/live/%E0%A4%A.flv')).toBeUndefined();
  });
});

describe('the connection guard', () => {
  it('guard(): a throw is logged once at error level with the connection id, closes it, later calls are ignored', () => {
    const log = memoryLog();
    let closed = 0;
    let calls = 0;
    const h = guard(log, 'rtmp-1234', () => closed++, (n: number) => {
      calls++;
      if (n === 2) throw new TypeError('boom\nforged line');
    });
    h(1);
    h(2);
    h(3);
    expect(calls).toBe(2);
    expect(closed).toBe(1);
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(new RegExp(`^\\[error\\]\\[rtmp-1234\\] ${HANDLER_FAILED}: TypeError: boom forged line \\(at `));
    expect(describeFailure('str')).toBe('non-Error thrown: str');
  });

  it('an HTTP handler that throws costs its connection only; the listener keeps serving', async () => {
    const log = memoryLog();
    const srv = createGuardedHttpServer('http_server', log, (req, res) => {
      if (req.url === '/throw') throw new Error('handler bug');
      res.end('ok');
    });
    const port = await listen(srv);
    try {
      const r = await rawExchange(port, 'GET /throw HTTP/1.1\r\nHost: x\r\n\r\n');
      expect(r).toEqual({ text: '', closedByServer: true });
      expect(log.lines.filter((l) => l.includes(HANDLER_FAILED))).toEqual([expect.stringMatching(/^\[error\]\[http-[0-9a-f]{8}\] connection handler failed: Error: handler bug/)]);
      expect(await (await fetch(`http://127.0.0.1:${port}/fine`)).text()).toBe('ok');
    } finally {
      await close(srv);
    }
  });

  it('a target that does not decode is 400 before the handler; no guard line', async () => {
    const log = memoryLog();
    let handled = 0;
    const srv = createGuardedHttpServer('http_server', log, (_req, res) => {
      handled++;
      res.end('ok');
    });
    const port = await listen(srv);
    try {
      for (const p of ['/live/%E0%A4%A.flv', '/live/%.flv', '/x?y=%']) {
        const r = await rawExchange(port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        expect([p, r.text.split('\r\n')[0]]).toEqual([p, 'HTTP/1.1 400 Bad Request']);
      }
      expect(handled).toBe(0);
      expect(log.lines).toEqual([]);
    } finally {
      await close(srv);
    }
  });
});

describe('HTTP limits', () => {
  it('timeouts: headers 5 s, request 10 s, keep-alive 5 s, checked every second', () => {
    expect(httpServerOptions()).toEqual({ headersTimeout: 5000, requestTimeout: 10_000, keepAliveTimeout: 5000, connectionsCheckingInterval: 1000 });
    const srv = createGuardedHttpServer('x', memoryLog(), () => {});
    expect([srv.headersTimeout, srv.requestTimeout, srv.keepAliveTimeout]).toEqual([5000, 10_000, 5000]);
  });

  it('more pipelined requests in flight than the cap close the connection; fewer are all answered', async () => {
    const log = memoryLog();
    let handled = 0;
    const pending: http.ServerResponse[] = [];
    const srv = createGuardedHttpServer('http_api', log, (req, res) => {
      handled++;
      if (req.url === '/hang') pending.push(res); // never answered: the pipeline stays in flight
      else res.end('ok');
    });
    const port = await listen(srv);
    try {
      const one = 'GET /hang HTTP/1.1\r\nHost: x\r\n\r\n';
      const r = await rawExchange(port, one.repeat(500));
      expect(r.closedByServer).toBe(true);
      expect(handled).toBe(HTTP_LIMITS.maxInFlightPerSocket);
      expect(log.lines.filter((l) => l.includes('requests in flight'))).toHaveLength(1);
      // a client that pipelines within the cap gets every answer
      const n = HTTP_LIMITS.maxInFlightPerSocket;
      const ok = await rawExchange(port, 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n - 1) + 'GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(ok.text.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(n);
    } finally {
      for (const res of pending) res.destroy();
      await close(srv);
    }
  });
});

describe('HTTP-FLV', () => {
  const config = loadConfig({ env: {} });
  const vhost = { ...config.vhosts[0]!, httpRemux: { enabled: true, mount: '[vhost]/[app]/[stream].flv' } };
  const mount = compileMount(vhost)!;

  it('pipelined requests for missing streams leave no ghost stream when the client leaves', async () => {
    const registry = new SourceRegistry(config);
    const clients = new ClientTable();
    const log = memoryLog();
    const srv = createGuardedHttpServer('http_server', log, (req, res) => {
      const m = mount.match(req.url!)!;
      serveFlvPlayer(req, res, { mount, ...m }, { registry, clients, log, crossdomain: false });
    });
    const port = await listen(srv);
    try {
      let reqs = '';
      for (let i = 0; i < 10; i++) reqs += `GET /live/ghost${i}.flv HTTP/1.1\r\nHost: x\r\n\r\n`;
      const r = await rawExchange(port, reqs, 500);
      expect(r.text).toMatch(/^HTTP\/1\.1 200 OK/); // the first is served (and waits for a publisher)
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(registry.all().map((s) => s.key)).toEqual([]);
      expect(clients.size).toBe(0);
    } finally {
      await close(srv);
    }
  });

  it("a player's backlog is the response's writableLength (which already includes the socket's), once", async () => {
    const registry = new SourceRegistry(config);
    const clients = new ClientTable();
    const log = memoryLog();
    let response: http.ServerResponse | undefined;
    const srv = createGuardedHttpServer('http_server', log, (req, res) => {
      response = res;
      serveFlvPlayer(req, res, { mount, app: 'live', stream: 'slow' }, { registry, clients, log, crossdomain: false });
    });
    const port = await listen(srv);
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /live/slow.flv HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.on('error', () => {});
    try {
      s.pause(); // a player that does not read
      for (let i = 0; i < 50 && !response; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      // fill the kernel buffers and node's socket queue
      const chunk = Buffer.alloc(1 << 20);
      for (let i = 0; i < 16; i++) response!.write(chunk);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const source = registry.all()[0]!;
      const consumer = [...source.consumers][0]!;
      const socketQueued = response!.socket!.writableLength;
      expect(socketQueued).toBeGreaterThan(0);
      expect(consumer.writableLength).toBe(response!.writableLength);
      // the old sum counted the socket's queue twice
      expect(consumer.writableLength).toBeLessThan(response!.writableLength + socketQueued);
    } finally {
      s.destroy();
      await close(srv);
    }
  });
});
