import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DocsMarkerError,
  extractBlocks,
  markersFor,
  onFixtureHost,
  parseMarker,
  runsUntilStopped,
  shortenDurations,
  splitCommands,
  stripComment,
} from '../helpers/docs-examples.js';
import { REPO } from '../helpers/env.js';

describe('docs examples extractor', () => {
  it('finds sh/bash/shell/console blocks with their lines, and ignores other languages', () => {
    const md = ['# t', '```sh', 'srsx serve   # run', '', '# a comment', 'curl http://x', '```', '```ts', 'let x = 1', '```', '```console', '$ srsx diagnose', 'output line', '$ echo hi', '```'].join('\n');
    const blocks = extractBlocks(md, 'a.md');
    expect(blocks.map((b) => [b.lang, b.line])).toEqual([
      ['sh', 2],
      ['console', 11],
    ]);
    expect(blocks[0].commands).toEqual([
      { line: 3, text: 'srsx serve   # run' },
      { line: 6, text: 'curl http://x' },
    ]);
    expect(blocks[1].commands).toEqual([
      { line: 12, text: 'srsx diagnose' },
      { line: 14, text: 'echo hi' },
    ]);
  });

  it('joins backslash continuations into one command at its first line', () => {
    expect(splitCommands(['a \\', '  -b c \\', '  -d', 'e'], false, 10)).toEqual([
      { line: 10, text: 'a -b c -d' },
      { line: 13, text: 'e' },
    ]);
  });

  it('reads markers right above a block: skip, exit codes, fixture/real host, with a prefix and a reason', () => {
    const md = [
      '<!-- docs-test: skip "ffplay" (needs a display) -->',
      '<!-- docs-test: exit 0|1 (verdicts depend on the host) -->',
      '',
      '```sh',
      'ffplay rtmp://x',
      'srsx diagnose',
      '```',
      '<!-- docs-test: fixture-host (changes sysctls) -->',
      '<!-- docs-test: real-host "srsx tune --cpus" (only the test server) -->',
      '```sh',
      'srsx tune --udp 16M',
      'srsx tune --cpus 1 --pid 1',
      '```',
    ].join('\n');
    const [a, b] = extractBlocks(md, 'a.md');
    expect(markersFor(a, a.commands[0]).map((m) => m.kind)).toEqual(['skip', 'exit']);
    expect(markersFor(a, a.commands[1])).toEqual([{ kind: 'exit', codes: [0, 1], reason: 'verdicts depend on the host', line: 2 }]);
    expect(onFixtureHost(b, b.commands[0])).toBe(true);
    expect(onFixtureHost(b, b.commands[1])).toBe(false);
  });

  it('refuses a marker without a reason, an unknown directive, a marker with no block or a prefix no command has', () => {
    expect(() => parseMarker('skip', 3, 'a.md')).toThrow(DocsMarkerError);
    expect(() => parseMarker('skip ()', 3, 'a.md')).toThrow(/cannot read/);
    expect(() => parseMarker('run-twice (x)', 3, 'a.md')).toThrow(/a\.md:3: cannot read/);
    expect(() => parseMarker('exit (x)', 3, 'a.md')).toThrow(/needs the codes|cannot read/);
    expect(() => parseMarker('real-host (x)', 3, 'a.md')).toThrow(/needs the commands/);
    expect(() => extractBlocks('<!-- docs-test: skip (x) -->\n', 'a.md')).toThrow(/no block after it/);
    expect(() => extractBlocks('<!-- docs-test: skip (x) -->\ntext\n```sh\nls\n```\n', 'a.md')).toThrow(/right before a fenced block/);
    expect(() => extractBlocks('<!-- docs-test: skip "nope" (x) -->\n```sh\nls\n```\n', 'a.md')).toThrow(/no command of the block below starts with it/);
    expect(() => extractBlocks('<!-- docs-test: skip (x) -->\n```ts\nx\n```\n', 'a.md')).toThrow(/only sh, bash, shell and console/);
  });

  it('strips trailing comments outside quotes', () => {
    expect(stripComment('srsx serve   # run')).toBe('srsx serve');
    expect(stripComment("printf '#!/bin/sh\\n' > x  # y")).toBe("printf '#!/bin/sh\\n' > x");
    expect(stripComment('curl http://h/#frag')).toBe('curl http://h/#frag');
  });

  it('shortens long durations and keeps short ones', () => {
    expect(shortenDurations('srsx play x --duration 30s -o out.flv', 2)).toBe('srsx play x --duration 2s -o out.flv');
    expect(shortenDurations('srsx profile --heap --diff 60s', 2)).toBe('srsx profile --heap --diff 2s');
    expect(shortenDurations('srsx bench compare --hold 1m', 2)).toBe('srsx bench compare --hold 2s');
    expect(shortenDurations('srsx diagnose udp-drops --interval 500ms', 2)).toBe('srsx diagnose udp-drops --interval 500ms');
  });

  it('knows the commands that run until Ctrl-C', () => {
    expect(runsUntilStopped('srsx serve -c conf/srs.conf   # run')).toBe(true);
    expect(runsUntilStopped('SRS_LISTEN=1935 srsx serve -e')).toBe(true);
    expect(runsUntilStopped('npx srsx serve')).toBe(true);
    expect(runsUntilStopped('srsx serve -t -c conf/srs.conf')).toBe(false);
    expect(runsUntilStopped('srsx profile --valgrind -- serve -c conf/srs.conf')).toBe(true);
    expect(runsUntilStopped('srsx profile --perf 30s')).toBe(false);
    expect(runsUntilStopped('srsx publish --re --loop in.flv rtmp://h/live/s')).toBe(true);
    expect(runsUntilStopped('srsx publish in.flv rtmp://h/live/s')).toBe(false);
    expect(runsUntilStopped('srsx play rtmp://h/live/s')).toBe(true);
    expect(runsUntilStopped('srsx play rtmp://h/live/s --duration 30s')).toBe(false);
    expect(runsUntilStopped('srsx bench rtmp-load -c 800 -r rtmp://h/live/s')).toBe(true);
    expect(runsUntilStopped('ffmpeg -re -i in.flv -f flv rtmp://h/live/s')).toBe(false);
  });

  it('README.md and docs/*.md parse: every marker is well formed and has its reason', () => {
    const files = ['README.md', ...readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const blocks = files.flatMap((f) => extractBlocks(readFileSync(path.join(REPO, f), 'utf8'), f));
    expect(blocks.length).toBeGreaterThan(10);
    for (const b of blocks) for (const m of b.markers) expect(m.reason.length).toBeGreaterThan(5);
  });
});
