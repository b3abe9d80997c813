// The vhost cluster { } block (SRS's edge) as srsx reads it, and the upstream URLs an edge builds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/server/config/index.js';
import { upstreamUrl, isEdge } from '../../src/server/cluster/edge.js';
import type { VhostConfig } from '../../src/server/config/types.js';
import { parseConnect, parseStreamName } from '../../src/server/rtmp/request.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-cluster-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function load(text: string, env: Record<string, string> = {}) {
  fs.writeFileSync(path.join(dir, 'c.conf'), text);
  return loadConfig({ file: 'c.conf', cwd: dir, env });
}

describe('cluster { } config', () => {
  it('an edge: mode, origins (port 1935 when absent), token_traverse, vhost; an origin by default', () => {
    const c = load('listen 1935;\nvhost a { cluster { mode remote; origin 10.0.0.1:19350 10.0.0.2 [::1]:1936; token_traverse on; vhost b.com; } }\nvhost o { }\n');
    expect(c.vhosts[0]!.cluster).toEqual({
      mode: 'remote',
      origins: [{ host: '10.0.0.1', port: 19350 }, { host: '10.0.0.2', port: 1935 }, { host: '::1', port: 1936 }],
      tokenTraverse: true,
      upstreamVhost: 'b.com',
      originCluster: false,
      coworkers: [],
    });
    expect(c.vhosts[1]!.cluster).toEqual({ mode: 'local', origins: [], tokenTraverse: false, upstreamVhost: '[vhost]', originCluster: false, coworkers: [] });
    expect(isEdge(c.vhosts[0])).toBe(true);
    expect(isEdge(c.vhosts[1])).toBe(false);
    expect(c.warnings.filter((w) => w.includes('cluster'))).toEqual([]);
  });

  it('SRS 2 flat forms move under cluster, as SRS does', () => {
    const c = load('listen 1935;\nvhost a { mode remote; origin 127.0.0.1:1936; }\n');
    expect(c.vhosts[0]!.cluster).toMatchObject({ mode: 'remote', origins: [{ host: '127.0.0.1', port: 1936 }] });
  });

  it('SRS_VHOST_CLUSTER_* override the file', () => {
    const c = load('listen 1935;\nvhost __defaultVhost__ { }\n', { SRS_VHOST_CLUSTER_MODE: 'remote', SRS_VHOST_CLUSTER_ORIGIN: '127.0.0.1:1 127.0.0.1:2', SRS_VHOST_CLUSTER_TOKEN_TRAVERSE: 'on' });
    expect(c.vhosts[0]!.cluster).toMatchObject({ mode: 'remote', origins: [{ host: '127.0.0.1', port: 1 }, { host: '127.0.0.1', port: 2 }], tokenTraverse: true });
  });

  it('an origin cluster: origin_cluster on (only "on" is on, as SRS), coworkers in order; env overrides', () => {
    const c = load('listen 1935;\nvhost a {\n  cluster {\n    origin_cluster on;\n    coworkers 127.0.0.1:9091 origin-b:1985 [::1]:1986 api.example;\n  }\n}\nvhost b { cluster { origin_cluster yes; } }\n');
    expect(c.vhosts[0]!.cluster).toMatchObject({ mode: 'local', originCluster: true, coworkers: ['127.0.0.1:9091', 'origin-b:1985', '[::1]:1986', 'api.example'] });
    expect(c.vhosts[1]!.cluster).toMatchObject({ originCluster: false, coworkers: [] });
    expect(c.warnings.filter((w) => w.includes('cluster'))).toEqual([]);
    const e = load('listen 1935;\nvhost __defaultVhost__ { cluster { coworkers 10.0.0.1:1985; } }\n', { SRS_VHOST_CLUSTER_ORIGIN_CLUSTER: 'on', SRS_VHOST_CLUSTER_COWORKERS: '127.0.0.1:1 127.0.0.1:2' });
    expect(e.vhosts[0]!.cluster).toMatchObject({ originCluster: true, coworkers: ['127.0.0.1:1', '127.0.0.1:2'] });
    expect(() => load('listen 1935;\nvhost a {\n  cluster { origin_cluster on; coworkers http://127.0.0.1:1985/api; }\n}\n'))
      .toThrow(/c\.conf:3:\d+: cluster\.coworkers: 'http:\/\/127\.0\.0\.1:1985\/api' is not a coworker/);
    expect(() => load('listen 1935;\nvhost a { cluster { coworkers 127.0.0.1:70000; } }\n')).toThrow(/is not a coworker/);
  });

  it('unimplemented cluster directives warn once each; an edge without origin or with a bad one is an error naming file:line', () => {
    const c = load('listen 1935;\nvhost a {\n  cluster {\n    protocol flv;\n    follow_client on;\n  }\n}\n');
    expect(c.warnings).toEqual(expect.arrayContaining([
      'c.conf:4: vhost.cluster.protocol is not implemented by srsx (ignored)',
      'c.conf:5: vhost.cluster.follow_client is not implemented by srsx (ignored)',
    ]));
    expect(() => load('listen 1935;\nvhost a {\n  cluster { mode remote; }\n}\n')).toThrow(/c\.conf:3:\d+: cluster\.mode: an edge \(mode remote\) needs an origin/);
    expect(() => load('listen 1935;\nvhost a { cluster { mode remote; origin 127.0.0.1:99999; } }\n')).toThrow(/'127\.0\.0\.1:99999' is not an origin/);
  });
});

describe('upstreamUrl', () => {
  const vhost = (name: string, upstreamVhost = '[vhost]') => ({ name, cluster: { mode: 'remote', origins: [], tokenTraverse: false, upstreamVhost, originCluster: false, coworkers: [] } }) as unknown as VhostConfig;
  it('rtmp://origin/app/stream with the client param; vhost= only for a vhost other than the default', () => {
    expect(upstreamUrl({ host: '127.0.0.1', port: 19350 }, { vhost: vhost('__defaultVhost__'), app: 'live', stream: 's', param: '' })).toBe('rtmp://127.0.0.1:19350/live/s');
    expect(upstreamUrl({ host: '127.0.0.1', port: 19350 }, { vhost: vhost('__defaultVhost__'), app: 'live', stream: 's', param: '?token=abc' })).toBe('rtmp://127.0.0.1:19350/live/s?token=abc');
    expect(upstreamUrl({ host: '10.0.0.1', port: 1935 }, { vhost: vhost('edge.com'), app: 'live', stream: 's', param: '?token=a' })).toBe('rtmp://10.0.0.1:1935/live/s?token=a&vhost=edge.com');
    expect(upstreamUrl({ host: '10.0.0.1', port: 1935 }, { vhost: vhost('edge.com', 'origin.com'), app: 'a/b', stream: 's', param: '' })).toBe('rtmp://10.0.0.1:1935/a/b/s?vhost=origin.com');
    expect(upstreamUrl({ host: '::1', port: 1935 }, { vhost: vhost('__defaultVhost__'), app: 'live', stream: 's', param: '' })).toBe('rtmp://[::1]:1935/live/s');
  });
});

describe('what an SRS edge sends an srsx origin', () => {
  it('a stream name with an extension is the stream without it, as SRS keys streams (an HTTP-FLV-first SRS edge plays `s.flv`)', () => {
    expect(parseStreamName('o7.flv')).toEqual({ stream: 'o7', vhost: undefined, param: '' });
    expect(parseStreamName('o7.flv?token=a&vhost=v.com')).toEqual({ stream: 'o7', vhost: 'v.com', param: '?token=a&vhost=v.com' });
    expect(parseStreamName('o7')).toMatchObject({ stream: 'o7' });
  });
  it("token traverse: the connect's tcUrl query is the param when the app field has none (SRS's srs_discovery_tc_url)", () => {
    expect(parseConnect('rtmp://127.0.0.1:1935/live?token=good', 'live')).toMatchObject({ app: 'live', param: '?token=good', vhost: '127.0.0.1' });
    expect(parseConnect('rtmp://127.0.0.1:1935/live?vhost=v.com', 'live')).toMatchObject({ app: 'live', vhost: 'v.com' });
    expect(parseConnect('rtmp://127.0.0.1:1935/live', 'live?token=x')).toMatchObject({ app: 'live', param: '?token=x' });
  });
});
