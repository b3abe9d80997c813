import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigSyntaxError, loadConfig, parseConf } from '../../src/server/config/index.js';

function errorOf(text: string): ConfigSyntaxError {
  try {
    parseConf(text, 'x.conf');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigSyntaxError);
    return err as ConfigSyntaxError;
  }
  throw new Error('expected a syntax error');
}

describe('config grammar', () => {
  it('reads directives, blocks, comments and quotes like SRS', () => {
    const t = parseConf(
      'listen 1935 [::]:1935; # rtmp\nvhost a{play{gop_cache off;}}\nx "a b" \'c;d\' "";\ny a#b;\n',
      'x.conf',
    );
    expect(t.map((d) => d.name)).toEqual(['listen', 'vhost', 'x', 'y']);
    expect(t[0]!.args).toEqual(['1935', '[::]:1935']);
    expect(t[1]!.children[0]!.children[0]).toMatchObject({ name: 'gop_cache', args: ['off'] });
    expect(t[2]!.args).toEqual(['a b', 'c;d']); // "" is dropped
    expect(t[3]!.args).toEqual(['a#b']); // # starts a comment only at a token start
    expect(t[1]!.pos).toEqual({ file: 'x.conf', line: 2, column: 1 });
  });

  it('accepts an empty file and a comment-only file', () => {
    expect(parseConf('', 'x.conf')).toEqual([]);
    expect(parseConf('# nothing\n\n', 'x.conf')).toEqual([]);
  });

  it.each([
    ['listen 1935', 1, 12, /unexpected end of file, expecting ';' or '\{'/],
    ['dir0 \narg0;', 1, 6, /unexpected end of line in directive 'dir0'/],
    ['vhost a {\n  play {\n', 3, 1, /expecting '\}' to close 'play' opened at line 2/],
    ['listen 1935;\n}', 2, 1, /unexpected '\}', no block is open/],
    ['  ;', 1, 3, /unexpected ';', expecting a directive name/],
    ['{', 1, 1, /unexpected '\{', expecting a directive name/],
    ['a { b }', 1, 7, /unexpected '\}', expecting ';' to end 'b'/],
    ['a "b"c;', 1, 6, /unexpected 'c' after a closing quote/],
    ['a "b;', 1, 6, /expecting a closing " for the quote opened at line 1 column 3/],
    ['include;', 1, 1, /include needs at least one file/],
    // a directive name alone at the end of a line, as SRS: "unexpected end of line to parse token listen"
    ['listen\n1935;', 1, 7, /unexpected end of line in directive 'listen'/],
    ['vhost a {\n  play\n  { gop_cache off; }\n}', 2, 7, /unexpected end of line in directive 'play'/],
    ['listen 1935\r\n;', 1, 12, /unexpected end of line in directive 'listen'/],
    ['x "a"\n;', 1, 6, /unexpected end of line in directive 'x'/],
  ])('%j fails at line %d column %d', (text, line, column, re) => {
    const e = errorOf(text);
    expect(e.pos).toMatchObject({ line, column });
    expect(e.message).toMatch(new RegExp(`^x\\.conf:${line}:${column}: `));
    expect(e.message).toMatch(re);
  });

  it('splices includes at any level and names the included file in errors', () => {
    const files: Record<string, string> = { 'a.conf': 'gop_cache off;\n', 'bad.conf': '\n  oops' };
    const read = (f: string) => {
      if (!(f in files)) throw new Error('ENOENT');
      return files[f]!;
    };
    const t = parseConf('vhost v {\n  play { include a.conf; }\n}\n', 'main.conf', { readInclude: read });
    expect(t[0]!.children[0]!.children[0]).toMatchObject({ name: 'gop_cache', pos: { file: 'a.conf', line: 1 } });
    expect(() => parseConf('include bad.conf;', 'main.conf', { readInclude: read })).toThrow(/^bad\.conf:2:7: unexpected end of file/);
    expect(() => parseConf('\ninclude missing.conf;', 'main.conf', { readInclude: read })).toThrow(
      /^main\.conf:2:9: cannot read include file missing\.conf/,
    );
    // an include cycle stops instead of recursing forever
    expect(() => parseConf('include self.conf;', 'm.conf', { readInclude: () => 'include self.conf;' })).toThrow(/deeper than/);
  });

  it('bounds block nesting: 100,000 nested blocks are a config error, not a stack overflow', () => {
    const deep = 'a {'.repeat(100_000) + '}'.repeat(100_000);
    const e = errorOf(deep);
    expect(e.message).toMatch(/^x\.conf:1:\d+: blocks nested deeper than 64 levels$/);
    // 64 levels still parse, counted across includes too
    expect(parseConf('a {'.repeat(64) + '}'.repeat(64), 'x.conf')).toHaveLength(1);
    const inner = 'b {'.repeat(40) + '}'.repeat(40);
    expect(() => parseConf('a {'.repeat(30) + 'include i.conf;' + '}'.repeat(30), 'm.conf', { readInclude: () => inner })).toThrow(/^i\.conf:1:\d+: blocks nested deeper/);
  });

  it('bounds the number of include files (a fan-out of includes would read 2^16 files)', () => {
    let reads = 0;
    const read = (f: string) => {
      reads++;
      return f === 'fan.conf' ? 'include leaf.conf leaf.conf leaf.conf leaf.conf;' : 'x 1;';
    };
    expect(parseConf('include fan.conf fan.conf;', 'm.conf', { readInclude: read })).toHaveLength(8);
    reads = 0;
    expect(() => parseConf(`include ${'fan.conf '.repeat(100)};`, 'm.conf', { readInclude: read })).toThrow(/more than 256 include files in one config/);
    expect(reads).toBeLessThanOrEqual(256);
  });
});

describe('config values and files, as SRS reads them', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srsx-conf-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text);
    return name;
  };
  const load = (file: string) => loadConfig({ file, cwd: dir, env: {} });

  it('takes the leading number of a value with a unit (atoi/atof), with a warning', () => {
    const c = load(write('units.conf', 'listen 1935;\nvhost v { play { mw_latency 350ms; queue_length 10s; } }\n'));
    expect(c.vhosts[0]!.play).toMatchObject({ mwLatencyMs: 350, queueLength: 10 });
    expect(c.warnings).toEqual(expect.arrayContaining([
      expect.stringMatching(/^units\.conf:2:\d+: mw_latency: '350ms' is read as 350, as SRS does/),
      expect.stringMatching(/^units\.conf:2:\d+: queue_length: '10s' is read as 10, as SRS does/),
    ]));
    // no number at all is still an error
    expect(() => load(write('nonum.conf', 'listen 1935;\nvhost v { play { mw_latency soon; } }\n'))).toThrow(/mw_latency: expected a whole number, got 'soon'/);
  });

  it('accepts srs_log_level debug (v2 name: info) and any other value with a warning, as SRS does', () => {
    expect(load(write('debug.conf', 'listen 1935;\nsrs_log_level debug;\nvhost v {}\n')).log.level).toBe('info');
    const loud = load(write('loud.conf', 'listen 1935;\nsrs_log_level loud;\nvhost v {}\n'));
    expect(loud.log.level).toBe('trace');
    expect(loud.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/srs_log_level: 'loud' is not one of/)]));
  });

  it('refuses to include a FIFO (never blocks on it) or a file over 4 MiB, with a clear error', () => {
    const fifo = path.join(dir, 'pipe.conf');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    expect(() => load(write('fifo.conf', 'listen 1935;\ninclude pipe.conf;\n'))).toThrow(/^fifo\.conf:2:9: cannot read include file pipe\.conf: not a regular file \(a FIFO\)$/);
    expect(() => load('pipe.conf')).toThrow(/^cannot read config file pipe\.conf: not a regular file \(a FIFO\)$/);
    expect(Date.now() - t0).toBeLessThan(2000);
    fs.writeFileSync(path.join(dir, 'huge.conf'), Buffer.alloc(4 * 1024 * 1024 + 1, 0x20));
    expect(() => load(write('big.conf', 'listen 1935;\ninclude huge.conf;\n'))).toThrow(/cannot read include file huge\.conf: 4194305 bytes, more than the 4194304 a config file may have/);
    expect(() => load(write('dev.conf', 'listen 1935;\ninclude /dev/zero;\n'))).toThrow(/not a regular file \(a device or socket\)/);
  });

  it('100,000 nested blocks in a file are a config error (file:line), not an internal error', () => {
    write('deep.conf', 'listen 1935;\n' + 'vhost {'.repeat(100_000) + '}'.repeat(100_000) + '\n');
    expect(() => load('deep.conf')).toThrow(/^deep\.conf:2:\d+: blocks nested deeper than 64 levels$/);
  });
});
