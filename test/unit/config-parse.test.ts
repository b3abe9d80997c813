import { ConfigSyntaxError, parseConf } from '../../src/server/config/index.js';

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
});
