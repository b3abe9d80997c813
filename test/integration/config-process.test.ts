// The config loader in a real process: the real environment (SRS_* overrides, $NAME, SRS_CONFIG_FILE) and
// working directory (includes relative to it), through the compiled dist/ as `srsx serve -t` runs it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, SRS_DIR } from '../helpers/env.js';

const DIST = path.join(REPO, 'dist/server/config/index.js');

/** Runs checkConfig + formatCheckResult (and prints the loaded config as JSON) in a child node process. */
function check(file: string | undefined, cwd: string, env: Record<string, string> = {}) {
  const code = `
    const m = await import(${JSON.stringify(DIST)});
    const file = process.argv[1] || undefined;
    const r = m.checkConfig({ file });
    const out = m.formatCheckResult(r);
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    if (r.ok) process.stdout.write('CONFIG ' + JSON.stringify(m.loadConfig({ file })) + '\\n');
    process.exitCode = out.exitCode;
  `;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SRS_')));
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, file ?? ''], {
    cwd,
    env: { ...clean, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('CONFIG '));
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, config: line ? JSON.parse(line.slice(7)) : undefined };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-config-int-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('config in a real process', () => {
  it('checks SRS conf files from SRS root, with includes relative to the cwd', () => {
    const ok = check('conf/include.conf', SRS_DIR);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('the config file conf/include.conf syntax is ok');
    expect(ok.stdout).toContain('config file conf/include.conf test is successful');
    expect(ok.config.vhosts[0].name).toBe('include.srs.com');

    const bad = check('conf/nginx.proxy.conf', SRS_DIR);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid config: conf\/nginx\.proxy\.conf:\d+:\d+: illegal directive worker_processes/);
    expect(bad.stderr).toContain('config file conf/nginx.proxy.conf test is failed');
  });

  it('reports a malformed file with file:line:column', () => {
    fs.writeFileSync(path.join(dir, 'broken.conf'), 'listen 1935;\nvhost __defaultVhost__ {\n    play { gop_cache on }\n}\n');
    const r = check('broken.conf', dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("broken.conf:3:25: unexpected '}', expecting ';' to end 'gop_cache on'");
  });

  it('takes SRS_* overrides, SRS_CONFIG_FILE and $NAME from the process environment', () => {
    fs.writeFileSync(
      path.join(dir, 'env.conf'),
      'listen 1935;\nhttp_server { enabled on; dir $WWW_ROOT; }\nvhost __defaultVhost__ { gop_cache on; mw_latency 100; }\nvhost b { }\n',
    );
    const r = check('nonexistent.conf', dir, {
      SRS_CONFIG_FILE: 'env.conf',
      SRS_LISTEN: '19350',
      SRS_VHOST_PLAY_MW_LATENCY: '0',
      SRS_VHOST_PLAY_GOP_CACHE: 'off',
      WWW_ROOT: '/srv/www',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warn: env.conf:3: transform: vhost.gop_cache => vhost.play.gop_cache of __defaultVhost__');
    expect(r.config.listen).toEqual([{ host: '0.0.0.0', port: 19350 }]);
    expect(r.config.httpServer.dir).toBe('/srv/www');
    expect(r.config.vhosts.map((v: { play: unknown }) => v.play)).toEqual([
      { gopCache: false, queueLength: 30, mwLatencyMs: 0, mwMsgs: 8, timeJitter: 'full' },
      { gopCache: false, queueLength: 30, mwLatencyMs: 0, mwMsgs: 8, timeJitter: 'full' },
    ]);
  });

  it('without a file gives the embedded default', () => {
    const r = check(undefined, dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('the config file <embedded> syntax is ok');
    expect(r.config.httpServer.listen.port).toBe(8080);
  });
});
