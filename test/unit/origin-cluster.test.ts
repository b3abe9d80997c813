// The origin cluster's pieces: the redirect a player gets (its bytes read by a small AMF0 reader
// written here, not srsx's decoder), the URL it names, what an edge takes from it, and which
// coworker is this server itself.
import http from 'node:http';
import { discover, redirectStatus, redirectTarget, redirectUrl, isSelf, wantsDiscovery } from '../../src/server/cluster/coworkers.js';
import { MessageType } from '../../src/protocol/rtmp/message.js';
import type { ServerConfig, VhostConfig } from '../../src/server/config/types.js';

/** AMF0 as the spec writes it: number 0x00, string 0x02, object 0x03 … 0x000009, null 0x05. */
function readAmf0(buf: Buffer): unknown[] {
  let pos = 0;
  const str = (): string => {
    const n = buf.readUInt16BE(pos);
    pos += 2;
    const s = buf.toString('utf8', pos, pos + n);
    pos += n;
    return s;
  };
  const value = (): unknown => {
    const marker = buf[pos++];
    if (marker === 0x00) {
      const v = buf.readDoubleBE(pos);
      pos += 8;
      return v;
    }
    if (marker === 0x02) return str();
    if (marker === 0x05) return null;
    if (marker === 0x03) {
      const o: Record<string, unknown> = {};
      for (;;) {
        const key = str();
        if (key === '' && buf[pos] === 0x09) {
          pos++;
          return o;
        }
        o[key] = value();
      }
    }
    throw new Error(`marker ${marker} at ${pos - 1} not expected in an onStatus`);
  };
  const out: unknown[] = [];
  while (pos < buf.length) out.push(value());
  return out;
}

describe('the redirect (RTMP 302) a player gets', () => {
  it('onStatus on stream 0: level error, NetConnection.Connect.Rejected, "RTMP 302 Redirect", ex { code 302, redirect: tcUrl, redirect2: URL }', () => {
    const m = redirectStatus('rtmp://127.0.0.1:19351/live/s?token=a&vhost=v.com');
    expect(m.type).toBe(MessageType.CommandAmf0);
    expect(m.streamId).toBe(0);
    expect(readAmf0(m.payload)).toEqual(['onStatus', 0, null, {
      level: 'error',
      code: 'NetConnection.Connect.Rejected',
      description: 'RTMP 302 Redirect',
      ex: { code: 302, redirect: 'rtmp://127.0.0.1:19351/live', redirect2: 'rtmp://127.0.0.1:19351/live/s?token=a&vhost=v.com' },
    }]);
    // the bytes' start, as the spec lays them out: string "onStatus", number 0, null, object
    expect(m.payload.subarray(0, 11).toString('hex')).toBe('0200086f6e537461747573');
    expect(m.payload.subarray(11, 21).toString('hex')).toBe('00000000000000000005');
    expect(m.payload[21]).toBe(0x03);
  });

  it("the URL: the play's param, then vhost= for a vhost other than the default (else the tcUrl host when it is a name)", () => {
    const q = { vhost: '__defaultVhost__', host: '127.0.0.1', app: 'live', stream: 's', param: '' };
    expect(redirectUrl('10.0.0.2', 1935, q)).toBe('rtmp://10.0.0.2:1935/live/s');
    expect(redirectUrl('10.0.0.2', 1935, { ...q, param: '?token=x' })).toBe('rtmp://10.0.0.2:1935/live/s?token=x');
    expect(redirectUrl('10.0.0.2', 1935, { ...q, vhost: 'v.com', param: '?token=x' })).toBe('rtmp://10.0.0.2:1935/live/s?token=x&vhost=v.com');
    expect(redirectUrl('10.0.0.2', 1935, { ...q, host: 'localhost' })).toBe('rtmp://10.0.0.2:1935/live/s?vhost=localhost');
    expect(redirectUrl('10.0.0.2', 1935, { ...q, vhost: 'v.com', param: '?vhost=w.com' })).toBe('rtmp://10.0.0.2:1935/live/s?vhost=w.com');
    expect(redirectUrl('::1', 1936, q)).toBe('rtmp://[::1]:1936/live/s');
  });

  it('what an edge takes from it: host and port of redirect2, else of redirect (the tcUrl); nothing from a plain error', () => {
    expect(redirectTarget({ code: 302, redirect: 'rtmp://10.0.0.9:1/live', redirect2: 'rtmp://10.0.0.2:19351/live/s?x=1' })).toEqual({ host: '10.0.0.2', port: 19351 });
    expect(redirectTarget({ code: 302, redirect: 'rtmp://10.0.0.9/live' })).toEqual({ host: '10.0.0.9', port: 1935 });
    expect(redirectTarget({ redirect2: 'rtmp://[::1]:1940/live/s' })).toEqual({ host: '::1', port: 1940 });
    expect(redirectTarget(undefined)).toBeUndefined();
    expect(redirectTarget({ code: 302 })).toBeUndefined();
    expect(redirectTarget({ redirect2: 'http://10.0.0.2/live/s' })).toBeUndefined();
    expect(redirectTarget({ redirect2: 'not a url' })).toBeUndefined();
  });
});

describe('coworkers', () => {
  const config = { httpApi: { enabled: true, listen: { host: '0.0.0.0', port: 1985 } } } as unknown as ServerConfig;
  it('a coworker on this server\'s API port at a local address is this server (skipped)', () => {
    expect(isSelf('127.0.0.1:1985', config)).toBe(true);
    expect(isSelf('localhost:1985', config)).toBe(true);
    expect(isSelf('[::1]:1985', config)).toBe(true);
    expect(isSelf('127.0.0.1:1986', config)).toBe(false);
    expect(isSelf('192.0.2.77:1985', config)).toBe(false);
    expect(isSelf('127.0.0.1:1985', { httpApi: { enabled: false, listen: { host: '0.0.0.0', port: 1985 } } } as unknown as ServerConfig)).toBe(false);
  });
  it('only an origin with origin_cluster on and coworkers looks streams up', () => {
    const v = (cluster: Partial<VhostConfig['cluster']>) => ({ cluster: { mode: 'local', origins: [], tokenTraverse: false, upstreamVhost: '[vhost]', originCluster: true, coworkers: ['127.0.0.1:1'], ...cluster } }) as unknown as VhostConfig;
    expect(wantsDiscovery(v({}))).toBe(true);
    expect(wantsDiscovery(v({ originCluster: false }))).toBe(false);
    expect(wantsDiscovery(v({ coworkers: [] }))).toBe(false);
    expect(wantsDiscovery(v({ mode: 'remote' }))).toBe(false);
  });
});

describe('discover: asking the coworkers', () => {
  const servers: http.Server[] = [];
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });
  /** A fake coworker API: answers `body` (or never, for undefined), records the request URLs. */
  async function coworker(body: unknown): Promise<{ addr: string; urls: string[] }> {
    const urls: string[] = [];
    const s = http.createServer((req, res) => {
      urls.push(req.url ?? '');
      if (body === undefined) return; // never answers
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return { addr: `127.0.0.1:${(s.address() as { port: number }).port}`, urls };
  }
  const vhostWith = (coworkers: string[]) => ({ name: 'v.com', cluster: { mode: 'local', origins: [], tokenTraverse: false, upstreamVhost: '[vhost]', originCluster: true, coworkers } }) as unknown as VhostConfig;
  const q = { vhost: 'v.com', host: '127.0.0.1', app: 'live', stream: 's', param: '?token=a' };

  it('in order, skipping silence, garbage, null, unusable answers and itself; the first origin wins; the query is sent as SRS sends it', async () => {
    const silent = await coworker(undefined);
    const garbage = await coworker('<html>');
    const none = await coworker({ code: 0, data: { query: {}, origin: null } });
    const bad = await coworker({ code: 0, data: { origin: { ip: '127.0.0.1%3A1', port: 1935 } } });
    const has = await coworker({ code: 0, data: { origin: { ip: '10.0.0.2', port: 19351, vhost: 'v.com', api: '10.0.0.2:1985', routers: [] } } });
    const after = await coworker({ code: 0, data: { origin: { ip: '10.0.0.3', port: 1 } } });
    const self = `127.0.0.1:${1985}`;
    const config = { httpApi: { enabled: true, listen: { host: '0.0.0.0', port: 1985 } } } as unknown as ServerConfig;
    const d = await discover(vhostWith([self, silent.addr, garbage.addr, none.addr, bad.addr, has.addr, after.addr]), q, config, 300);
    expect(d).toEqual({ found: true, coworker: has.addr, ip: '10.0.0.2', port: 19351, url: 'rtmp://10.0.0.2:19351/live/s?token=a&vhost=v.com' });
    expect(after.urls).toEqual([]);
    expect(has.urls).toEqual([`/api/v1/clusters?vhost=v.com&ip=127.0.0.1&app=live&stream=s&coworker=${has.addr}`]);
    expect(silent.urls).toHaveLength(1);

    const none2 = await discover(vhostWith([silent.addr, garbage.addr, none.addr, bad.addr]), q, config, 300);
    expect(none2.found).toBe(false);
    expect(none2.found === false && none2.why).toBe(
      `${silent.addr}: no answer in 300 ms; ${garbage.addr}: not JSON; ${none.addr}: not there; ${bad.addr}: unusable origin '127.0.0.1%3A1':1935`,
    );
    expect(await discover(vhostWith([self]), q, config)).toEqual({ found: false, why: 'no coworker but this server' });
  });
});
