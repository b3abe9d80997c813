import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkConfig, formatCheckResult, loadConfig } from '../../src/server/config/index.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-config-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function conf(name: string, text: string): string {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), text);
  return name;
}
const load = (file: string, env: Record<string, string> = {}) => loadConfig({ file, cwd: dir, env });

describe('loadConfig', () => {
  it('without a file gives the embedded default', () => {
    const c = loadConfig({ cwd: dir, env: {} });
    expect(c.source).toBe('<embedded>');
    expect(c.listen).toEqual([{ host: '0.0.0.0', port: 1935 }]);
    expect(c.httpApi).toEqual({ enabled: true, listen: { host: '0.0.0.0', port: 1985 }, crossdomain: true, auth: { enabled: false, username: '', password: '' } });
    expect(c.httpServer).toMatchObject({ enabled: true, listen: { port: 8080 }, dir: './objs/nginx/html' });
    expect(c.pidFile).toBe('./objs/srs.pid');
    expect(c.log).toEqual({ tank: 'console', level: 'trace', file: './objs/srs.log' });
    expect(c.vhosts).toHaveLength(1);
    expect(c.vhosts[0]).toMatchObject({
      name: '__defaultVhost__',
      httpRemux: { enabled: true, mount: '[vhost]/[app]/[stream].flv' },
      play: { gopCache: true, queueLength: 30, mwLatencyMs: 350, mwMsgs: 8 },
      forward: { enabled: false, destinations: [] },
    });
    expect(c.warnings).toEqual([]);
  });

  it('uses SRS defaults for what a file leaves out', () => {
    const c = load(conf('min.conf', 'listen 127.0.0.1:19350 [::1]:19351;\nvhost __defaultVhost__ {}\n'));
    expect(c.listen).toEqual([{ host: '127.0.0.1', port: 19350 }, { host: '::1', port: 19351 }]);
    expect(c.maxConnections).toBe(1000);
    expect(c.chunkSize).toBe(60000);
    expect(c.daemon).toBe(true);
    expect(c.log.tank).toBe('file');
    expect(c.httpApi.enabled).toBe(false);
    expect(c.exporter).toEqual({ enabled: false, listen: { host: '0.0.0.0', port: 9972 }, label: '', tag: '' });
  });

  it('rewrites the old flat forms as SRS does', () => {
    const c = load(conf('old.conf', [
      'listen 1935;',
      'http_stream { enabled on; listen 8081; }',
      'vhost __defaultVhost__ {',
      '    gop_cache off;',
      '    queue_length 10;',
      '    mw_latency 100;',
      '    forward 127.0.0.1:19350 127.0.0.1:19351;',
      '}',
      '',
    ].join('\n')));
    expect(c.httpServer).toMatchObject({ enabled: true, listen: { port: 8081 } });
    expect(c.vhosts[0]!.play).toMatchObject({ gopCache: false, queueLength: 10, mwLatencyMs: 100 });
    expect(c.vhosts[0]!.forward).toEqual({ enabled: true, destinations: ['127.0.0.1:19350', '127.0.0.1:19351'] });
    expect(c.warnings).toEqual(expect.arrayContaining([
      'old.conf:2: transform: http_stream => http_server',
      'old.conf:4: transform: vhost.gop_cache => vhost.play.gop_cache of __defaultVhost__',
      'old.conf:7: transform: vhost.forward => vhost.forward { enabled on; destination ...; } of __defaultVhost__',
    ]));
  });

  it('lets SRS_* environment variables win over the file, for every vhost', () => {
    const f = conf('env.conf', [
      'listen 1935;',
      'max_connections 100;',
      'srs_log_tank file;',
      'http_api { enabled off; listen 1985; }',
      'vhost a { play { mw_latency 100; gop_cache on; } }',
      'vhost __defaultVhost__ { }',
      '',
    ].join('\n'));
    const c = load(f, {
      SRS_LISTEN: '19350 127.0.0.1:19351',
      SRS_MAX_CONNECTIONS: '50',
      SRS_LOG_TANK: 'console',
      SRS_SRS_LOG_LEVEL: 'warn',
      SRS_HTTP_API_ENABLED: 'on',
      SRS_HTTP_API_LISTEN: '127.0.0.1:2985',
      SRS_VHOST_PLAY_MW_LATENCY: '0',
      SRS_VHOST_PLAY_GOP_CACHE: 'off',
      SRS_VHOST_MIN_LATENCY: 'on',
      SRS_VHOST_HTTP_REMUX_ENABLED: 'on',
    });
    expect(c.listen).toEqual([{ host: '0.0.0.0', port: 19350 }, { host: '127.0.0.1', port: 19351 }]);
    expect(c.maxConnections).toBe(50);
    expect(c.log).toMatchObject({ tank: 'console', level: 'warn' });
    expect(c.httpApi).toMatchObject({ enabled: true, listen: { host: '127.0.0.1', port: 2985 } });
    for (const v of c.vhosts) {
      expect(v.play.mwLatencyMs).toBe(0);
      expect(v.play.gopCache).toBe(false);
      expect(v.minLatency).toBe(true);
      expect(v.play.mwMsgs).toBe(0); // min_latency's default mw_msgs
      expect(v.httpRemux.enabled).toBe(true);
    }
    // an empty variable does not override (SRS checks for a non-empty value)
    expect(load(f, { SRS_MAX_CONNECTIONS: '' }).maxConnections).toBe(100);
  });

  it('SRS_CONFIG_FILE replaces -c', () => {
    const a = conf('a.conf', 'listen 1111;\n');
    const b = conf('b.conf', 'listen 2222;\n');
    expect(loadConfig({ file: a, cwd: dir, env: { SRS_CONFIG_FILE: b } }).listen[0]!.port).toBe(2222);
  });

  it('expands $NAME values from the environment (candidate falls back to *)', () => {
    const f = conf('dollar.conf', 'listen 1935;\nhttp_server { enabled on; dir $WWW; }\nrtc_server { candidate $CANDIDATE; }\n');
    expect(load(f, { WWW: '/srv/www' }).httpServer.dir).toBe('/srv/www');
    expect(load(f, {}).httpServer.dir).toBe('$WWW');
  });

  it('warns once per directive it does not implement, naming file:line', () => {
    const c = load(conf('warn.conf', 'listen 1935;\nsrt_server { enabled on; }\nvhost v {\n  hls { hls_storage disk; }\n  play { atc on; }\n}\n'));
    const unimpl = c.warnings.filter((w) => w.includes('not implemented'));
    expect(unimpl).toEqual([
      'warn.conf:2: srt_server is not implemented by srsx (ignored)',
      'warn.conf:4: vhost.hls.hls_storage is not implemented by srsx (ignored)',
      'warn.conf:5: vhost.play.atc is not implemented by srsx (ignored)',
    ]);
  });

  it('follows includes relative to the cwd', () => {
    conf('conf/part.conf', 'vhost inc { play { gop_cache off; } }\n');
    const c = load(conf('main.conf', 'listen 1935;\ninclude ./conf/part.conf;\n'));
    expect(c.vhosts[0]).toMatchObject({ name: 'inc', play: { gopCache: false } });
  });

  it.each([
    ['bad-port.conf', 'listen 99999;\n', /listen\.port|expected a port/],
    ['bad-ip.conf', 'listen 1.2.3:1935;\n', /listen\.ip=1\.2\.3 is invalid/],
    ['bad-num.conf', 'listen 1935;\nmax_connections lots;\n', /^bad-num\.conf:2:1: max_connections: expected a whole number, got 'lots'$/],
    ['illegal.conf', 'listen 1935;\nvhost v { play { warp_speed on; } }\n', /^invalid config: illegal\.conf:2:18: illegal vhost\.play\.warp_speed of v$/],
    ['typo.conf', 'listen 1935;\nvhost v { play { gop_cahce on; } }\n', /illegal vhost\.play\.gop_cahce of v \(did you mean gop_cache\?\)/],
    ['typo-root.conf', 'listen 1935;\nhttp_apis { }\n', /^invalid config: typo-root\.conf:2:1: illegal directive http_apis \(did you mean http_api\?\)$/],
    ['two-remux.conf', 'listen 1935;\nvhost v { http_remux {} http_remux {} }\n', /http_remux only one but count=2/],
    ['syntax.conf', 'listen 1935;\nvhost v {\n  play { gop_cache on }\n}\n', /^syntax\.conf:3:23: unexpected '\}', expecting ';' to end 'gop_cache on'/],
  ])('%s is refused with a located reason', (name, text, re) => {
    expect(() => load(conf(name, text))).toThrow(re);
  });

  it('a missing file says so', () => {
    expect(() => load('nope.conf')).toThrow(/no config file at nope\.conf/);
  });
});

describe('checkConfig / formatCheckResult (srsx serve -t)', () => {
  it('reports success like srs -t', () => {
    const r = checkConfig({ file: conf('ok.conf', 'listen 1935;\nvhost v { hls { hls_storage disk; } }\n'), cwd: dir, env: {} });
    expect(r).toMatchObject({ ok: true, file: 'ok.conf' });
    const out = formatCheckResult(r);
    expect(out.exitCode).toBe(0);
    expect(out.stdout).toBe('the config file ok.conf syntax is ok\nconfig file ok.conf test is successful\n');
    expect(out.stderr).toBe('warn: ok.conf:2: vhost.hls.hls_storage is not implemented by srsx (ignored)\n');
  });

  it('reports a malformed file with file:line:column and what was expected', () => {
    const r = checkConfig({ file: conf('broken.conf', 'listen 1935;\nvhost v {\n  play {\n'), cwd: dir, env: {} });
    expect(r.ok).toBe(false);
    expect(r.error).toBe("broken.conf:4:1: unexpected end of file, expecting '}' to close 'play' opened at line 3");
    const out = formatCheckResult(r);
    expect(out.exitCode).toBe(2);
    expect(out.stderr).toMatch(/config file broken\.conf test is failed\n$/);
  });
});
