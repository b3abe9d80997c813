// Every file in test/fixtures/srs-conf/conf (SRS 7's trunk/conf, copied from the shared reference corpus) gets SRS 7's `srs -t` verdict when checked
// from test/fixtures/srs-conf (so `include ./conf/...` resolves as in SRS).
import fs from 'node:fs';
import path from 'node:path';
import { checkConfig, loadConfig, parseConf } from '../../src/server/config/index.js';
import { REPO, SRS_DIR } from '../helpers/env.js';

const CONF_DIR = path.join(SRS_DIR, 'conf');
const files = fs.readdirSync(CONF_DIR).filter((f) => f.endsWith('.conf')).sort();

/** SRS 7 rejects exactly these (shared/README.md, field-notes/srs.md 1.5/1.6), with these reasons. */
const REJECTED: Record<string, RegExp> = {
  'hls.edge.conf': /^invalid config: conf\/hls\.edge\.conf:\d+:\d+: illegal directive worker_processes$/,
  'nginx.proxy.conf': /^invalid config: conf\/nginx\.proxy\.conf:\d+:\d+: illegal directive worker_processes$/,
  'include.vhost.conf': /listen requires params/,
  'full.conf': /never use full\.conf/,
};

describe('SRS conf corpus (-t verdicts)', () => {
  it('has the whole corpus', () => {
    expect(files.length).toBeGreaterThanOrEqual(100);
  });

  it('lives in the repository with its licence, and no test reads outside the checkout', () => {
    // `npm test` on a fresh clone has nothing beside it: the corpus is a fixture, not the shared folder beside the checkout
    expect(fs.readFileSync(path.join(CONF_DIR, 'LICENSE.SRS'), 'utf8')).toMatch(/The MIT License[\s\S]*The SRS Authors/);
    expect(path.relative(REPO, SRS_DIR).startsWith('..')).toBe(false);
    const outside = ['..', 'shared'].join('/');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== 'fixtures') walk(p);
        } else if (e.name.endsWith('.ts') && fs.readFileSync(p, 'utf8').includes(outside)) offenders.push(path.relative(REPO, p));
      }
    };
    walk(path.join(REPO, 'test'));
    expect(offenders).toEqual([]);
  });

  it.each(files)('%s', (f) => {
    const r = checkConfig({ file: `conf/${f}`, cwd: SRS_DIR, env: {} });
    if (REJECTED[f]) {
      expect(r.ok).toBe(false);
      expect(r.error).toMatch(REJECTED[f]!);
    } else {
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      // one warning per line at most: never the same file:line twice for "not implemented"
      const unimpl = r.warnings.filter((w) => w.includes('not implemented'));
      expect(new Set(unimpl).size).toBe(unimpl.length);
      for (const w of unimpl) expect(w).toMatch(/^(\.\/)?conf\/[\w.-]+\.conf:\d+: /);
    }
  });

  it('parses every directive of full.conf and builds it when allowed', () => {
    const read = (f: string) => fs.readFileSync(path.join(SRS_DIR, f), 'utf8');
    const text = read('conf/full.conf');
    const tree = parseConf(text, 'conf/full.conf', { readInclude: read });
    let count = 0;
    const walk = (ds: typeof tree) => {
      for (const d of ds) {
        count++;
        walk(d.children);
      }
    };
    walk(tree);
    // every directive ends with ';' or '{' outside quotes; comments start at a token
    const terminators = (t: string) =>
      t
        .split('\n')
        .map((l) => l.replace(/(^|\s)#.*$/, '').replace(/'[^']*'|"[^"]*"/g, 'Q'))
        .join('\n')
        .replace(/[^;{]/g, '').length;
    const includes = [...text.matchAll(/^\s*include\s+(\S+);/gm)].map((m) => m[1]!);
    expect(includes).toEqual(['./conf/include.vhost.conf']);
    // the include directive itself is replaced by the included file's directives
    expect(count).toBe(terminators(text) - includes.length + includes.map((f) => terminators(read(f))).reduce((a, b) => a + b, 0));
    expect(count).toBeGreaterThan(500);

    const cfg = loadConfig({ file: 'conf/full.conf', cwd: SRS_DIR, env: {}, allowFull: true });
    const vhostCount = tree.filter((d) => d.name === 'vhost').length;
    expect(cfg.vhosts.length).toBe(vhostCount);
    expect(cfg.warnings.length).toBeGreaterThan(50);
  });

  it('include.conf pulls in include.vhost.conf relative to the cwd, as SRS does', () => {
    const cfg = loadConfig({ file: 'conf/include.conf', cwd: SRS_DIR, env: {} });
    expect(cfg.vhosts.map((v) => v.name)).toEqual(['include.srs.com']);
    expect(cfg.vhosts[0]!.httpRemux.enabled).toBe(true);
  });

  it('include.vhost.conf passes when SRS_LISTEN supplies the listen (env applies under -t)', () => {
    const r = checkConfig({ file: 'conf/include.vhost.conf', cwd: SRS_DIR, env: { SRS_LISTEN: '1935' } });
    expect(r.ok).toBe(true);
  });
});

describe('shipped conf/*.conf', () => {
  const shipped = fs.readdirSync(path.join(REPO, 'conf')).filter((f) => f.endsWith('.conf')).sort();
  it.each(shipped)('%s loads with no warning', (f) => {
    const cfg = loadConfig({ file: `conf/${f}`, cwd: REPO, env: {} });
    expect(cfg.warnings).toEqual([]);
    expect(cfg.vhosts.length).toBeGreaterThan(0);
  });
  it('srs.conf serves RTMP 1935, the API on 1985 and HTTP-FLV on 8080', () => {
    const cfg = loadConfig({ file: 'conf/srs.conf', cwd: REPO, env: {} });
    expect(cfg.listen[0]!.port).toBe(1935);
    expect(cfg.httpApi).toMatchObject({ enabled: true, listen: { port: 1985 } });
    expect(cfg.httpServer).toMatchObject({ enabled: true, listen: { port: 8080 } });
    expect(cfg.vhosts[0]!.httpRemux).toEqual({ enabled: true, mount: '[vhost]/[app]/[stream].flv' });
  });
});
