/**
 * The shell examples of README.md and docs/*.md, as test/integration/docs-examples.test.ts runs them.
 * Pure: text in, blocks out (no file system, no processes).
 *
 * A fenced block whose language is `sh`, `bash`, `shell` or `console` is a block of examples. In `sh`/`bash`/
 * `shell` every line that is not blank or only a comment is a command; in `console` only the lines that start with
 * `$ ` are (the others are output). A line ending in `\` continues on the next one.
 *
 * Markers are HTML comments (invisible on GitHub) on the lines right before the fence, one directive each:
 *
 *   <!-- docs-test: skip (REASON) -->                  the whole block is not run
 *   <!-- docs-test: skip "PREFIX" (REASON) -->         the block's commands that start with PREFIX are not run
 *   <!-- docs-test: exit 0|1 (REASON) -->              the exit codes every command of the block may end with
 *   <!-- docs-test: exit 0|1 "PREFIX" (REASON) -->     … only the commands that start with PREFIX
 *   <!-- docs-test: fixture-host (REASON) -->          the block runs with SRSX_HOST_ROOT on a copy of a fixture host
 *   <!-- docs-test: real-host "PREFIX" (REASON) -->    … except the commands that start with PREFIX (this machine)
 *
 * The reason is required: a skip says why, in the docs, where a reader sees it.
 */

export const EXAMPLE_LANGS = ['sh', 'bash', 'shell', 'console'] as const;

export type MarkerKind = 'skip' | 'exit' | 'fixture-host' | 'real-host';

export interface Marker {
  kind: MarkerKind;
  /** only the commands that start with this text (after any VAR=value prefixes are kept: the text as written) */
  prefix?: string;
  /** kind 'exit': the codes that pass */
  codes?: number[];
  reason: string;
  line: number;
}

export interface DocCommand {
  /** 1-based line of the command's first line in the file */
  line: number;
  /** the command as written, continuations joined with a space (a trailing comment is kept: the shell drops it) */
  text: string;
}

export interface DocBlock {
  file: string;
  /** 1-based line of the opening fence */
  line: number;
  lang: string;
  markers: Marker[];
  commands: DocCommand[];
}

/** A marker or fence the extractor cannot read: the test fails on these, so a typo never turns into a silent run. */
export class DocsMarkerError extends Error {}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w+-]*)\s*$/;
const MARKER = /^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$/;

/** Parses one directive (the text after `docs-test:`). */
export function parseMarker(text: string, line = 0, file = ''): Marker {
  const where = `${file}:${line}`;
  const m = /^(skip|exit|fixture-host|real-host)\b\s*((?:\d+\|)*\d+)?\s*(?:"([^"]+)")?\s*\((.+)\)$/.exec(text);
  if (!m) {
    throw new DocsMarkerError(
      `${where}: cannot read the marker "docs-test: ${text}": write "skip (reason)", "skip \\"prefix\\" (reason)", "exit 0|1 (reason)", "fixture-host (reason)" or "real-host \\"prefix\\" (reason)"`,
    );
  }
  const [, kind, codes, prefix, reason] = m;
  if (kind === 'exit' && !codes) throw new DocsMarkerError(`${where}: "docs-test: exit" needs the codes, e.g. exit 0|1 (reason)`);
  if (kind !== 'exit' && codes) throw new DocsMarkerError(`${where}: "docs-test: ${kind}" takes no exit codes`);
  if (kind === 'real-host' && !prefix) throw new DocsMarkerError(`${where}: "docs-test: real-host" needs the commands it applies to: real-host "prefix" (reason)`);
  if (!reason.trim()) throw new DocsMarkerError(`${where}: "docs-test: ${kind}" needs a reason in parentheses`);
  return {
    kind: kind as MarkerKind,
    ...(prefix ? { prefix } : {}),
    ...(codes ? { codes: codes.split('|').map(Number) } : {}),
    reason: reason.trim(),
    line,
  };
}

/** Every example block of one Markdown file, with the markers right above it. */
export function extractBlocks(markdown: string, file = ''): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  let pending: Marker[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const marker = MARKER.exec(line);
    if (marker) {
      pending.push(parseMarker(marker[1], i + 1, file));
      continue;
    }
    if (/^\s*<!--\s*docs-test/.test(line)) throw new DocsMarkerError(`${file}:${i + 1}: a docs-test marker must be alone on its line: <!-- docs-test: ... -->`);
    const fence = FENCE.exec(line);
    if (!fence) {
      if (line.trim() !== '' && pending.length > 0) {
        throw new DocsMarkerError(`${file}:${pending[0].line}: a docs-test marker must come right before a fenced block (only blank lines or other markers between)`);
      }
      continue;
    }
    // a fenced block: find its end (the same fence character, at least as long)
    const [, , ticks, lang] = fence;
    let end = i + 1;
    while (end < lines.length) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[end]);
      if (close && close[1][0] === ticks[0] && close[1].length >= ticks.length) break;
      end++;
    }
    const body = lines.slice(i + 1, end);
    if ((EXAMPLE_LANGS as readonly string[]).includes(lang)) {
      blocks.push({ file, line: i + 1, lang, markers: pending, commands: splitCommands(body, lang === 'console', i + 2) });
    } else if (pending.length > 0) {
      throw new DocsMarkerError(`${file}:${pending[0].line}: a docs-test marker before a \`${lang || 'plain'}\` block: only sh, bash, shell and console blocks are run`);
    }
    pending = [];
    i = end;
  }
  if (pending.length > 0) throw new DocsMarkerError(`${file}:${pending[0].line}: a docs-test marker with no block after it`);
  for (const b of blocks) {
    for (const m of b.markers) {
      if (m.prefix && !b.commands.some((c) => c.text.startsWith(m.prefix!))) {
        throw new DocsMarkerError(`${file}:${m.line}: the marker names "${m.prefix}" but no command of the block below starts with it`);
      }
    }
  }
  return blocks;
}

/** The commands of a block's lines (`firstLine` is the 1-based line of body[0]). */
export function splitCommands(body: string[], console: boolean, firstLine = 1): DocCommand[] {
  const out: DocCommand[] = [];
  let current: DocCommand | undefined;
  for (let k = 0; k < body.length; k++) {
    let text = body[k];
    if (current) {
      const continues = /\\\s*$/.test(text);
      current.text += ' ' + text.replace(/\\\s*$/, '').trim();
      if (!continues) {
        out.push(current);
        current = undefined;
      }
      continue;
    }
    if (console) {
      if (!text.startsWith('$ ')) continue;
      text = text.slice(2);
    }
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (/\\\s*$/.test(text)) {
      current = { line: firstLine + k, text: trimmed.replace(/\\\s*$/, '').trim() };
      continue;
    }
    out.push({ line: firstLine + k, text: trimmed });
  }
  if (current) out.push(current);
  return out;
}

/** The markers of `block` that apply to `command` (block-wide ones and those whose prefix it starts with). */
export function markersFor(block: DocBlock, command: DocCommand): Marker[] {
  return block.markers.filter((m) => !m.prefix || command.text.startsWith(m.prefix));
}

/** Whether `command` runs on a copy of a fixture host (a fixture-host marker, and no real-host marker names it). */
export function onFixtureHost(block: DocBlock, command: DocCommand): boolean {
  const m = markersFor(block, command);
  return m.some((x) => x.kind === 'fixture-host') && !m.some((x) => x.kind === 'real-host');
}

/** The command without its trailing `# comment` (outside quotes), for matching and rewriting. */
export function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"') i++;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '\\') i++;
    else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]))) return text.slice(0, i).trimEnd();
  }
  return text;
}

/**
 * Durations in examples are shortened to at most `maxSeconds` so the whole set runs in minutes:
 * `--duration 30s`, `--interval 30s`, `--hold 10s`, `--perf 30s`, `--strace 10s`, `--cpu 20s`, `--diff 60s`, `--settle 5s`.
 */
export function shortenDurations(text: string, maxSeconds: number): string {
  return text.replace(/(--(?:duration|interval|hold|perf|strace|cpu|diff|settle|wait)[ =])(\d+(?:\.\d+)?)(ms|s|m|h)\b/g, (all, flag: string, n: string, unit: string) => {
    const seconds = Number(n) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[unit];
    return seconds > maxSeconds ? `${flag}${maxSeconds}s` : all;
  });
}

/** Commands that run until they are stopped (Ctrl-C): servers, looping publishers, players without a duration. */
export function runsUntilStopped(command: string): boolean {
  const c = stripComment(command).replace(/^(\w+=\S*\s+)+/, '');
  const srsx = /^(?:npx\s+)?srsx\s+(.*)$/.exec(c);
  if (srsx) {
    const args = srsx[1];
    if (/^serve\b/.test(args)) return !/(^|\s)(-t|-v|--help|-h|--version|-V)(\s|$)/.test(args);
    if (/^profile\b.*\s--\s+serve\b/.test(args)) return true;
    if (/^publish\b/.test(args)) return /--loop\b/.test(args);
    if (/^play\b/.test(args)) return !/--duration\b/.test(args);
    if (/^bench\s+(rtmp|rtc)-load\b/.test(args)) return !/--duration\b/.test(args);
    return false;
  }
  return false;
}
