/**
 * SRS's config grammar (nginx-like), as `SrsConfDirective::parse_conf/read_token` read it:
 * - a directive is `name arg* ;` or `name arg* { ... }`; `play{` without a space is fine;
 * - whitespace is space, tab, CR, LF; a directive cannot span lines (SRS rejects "dir0 \narg0;");
 * - `#` starts a comment only at the start of a token (`a#b` is one word);
 * - "..." and '...' quote without escapes; the closing quote must be followed by space, `;` or `{`; `""` is dropped;
 * - `include f1 [f2 ...];` at any level splices the files' directives in (paths relative to the cwd).
 * Errors carry file:line:column and what was expected.
 * Bounded: blocks nest at most MAX_BLOCK_DEPTH deep (100,000 nested `a {` is a config error, not a
 * stack overflow), includes at most MAX_INCLUDE_DEPTH deep and MAX_INCLUDE_FILES in all (a file
 * including itself twice per level would otherwise read 2^16 files).
 */
import { UserError } from '../../errors.js';
import type { Directive, SourcePos } from './directive.js';

export class ConfigSyntaxError extends UserError {
  readonly pos: SourcePos;
  readonly detail: string;
  constructor(pos: SourcePos, detail: string, hint?: string) {
    super(`${pos.file}:${pos.line}:${pos.column}: ${detail}`, { hint });
    this.name = 'ConfigSyntaxError';
    this.pos = pos;
    this.detail = detail;
  }
}

/** Reads an included file; returns its text, or throws an Error whose message says why. */
export type IncludeReader = (file: string) => string;

export interface ParseOptions {
  readInclude?: IncludeReader;
  /** current include depth; a cycle of includes stops at maxIncludeDepth */
  depth?: number;
  /** block nesting of the include directive that led here (blocks nest across includes) */
  level?: number;
  /** includes read so far in this parse (shared by nested includes) */
  budget?: { files: number };
}

export const MAX_INCLUDE_DEPTH = 16;
/** SRS's own configs nest 4 deep (vhost > transcode > engine > ...). */
export const MAX_BLOCK_DEPTH = 64;
export const MAX_INCLUDE_FILES = 256;

const enum End {
  Entire, // ';'
  BlockStart, // '{'
  BlockEnd, // '}'
  EOF,
}

interface Token {
  args: string[];
  /** position of each arg's first character */
  argPos: SourcePos[];
  end: End;
  endPos: SourcePos;
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function show(ch: string): string {
  if (ch === '\n') return 'end of line';
  return `'${ch}'`;
}

function endOfLine(pos: SourcePos, name: string): ConfigSyntaxError {
  return new ConfigSyntaxError(
    pos,
    `unexpected end of line in directive '${name}', expecting ';' or '{' on the same line`,
    'SRS directives cannot span lines: put the whole directive and its ; on one line',
  );
}

class Lexer {
  private i = 0;
  private line = 1;
  private col = 1;

  constructor(
    private readonly text: string,
    private readonly file: string,
  ) {}

  here(): SourcePos {
    return { file: this.file, line: this.line, column: this.col };
  }

  private posOf(line: number, column: number): SourcePos {
    return { file: this.file, line, column };
  }

  /** One directive's words up to its terminator (`;`, `{`, `}` or end of file). */
  next(): Token {
    const { text } = this;
    const args: string[] = [];
    const argPos: SourcePos[] = [];
    let comment = false;
    let dq = false;
    let sq = false;
    let needSpace = false; // just closed a quote
    let inWord = false;
    let wordStart = 0;
    let wordLine = 0;
    let wordCol = 0;

    const pushWord = (endExclusive: number) => {
      const w = text.slice(wordStart, endExclusive);
      if (w.length > 0) {
        args.push(w);
        argPos.push(this.posOf(wordLine, wordCol));
      }
    };

    for (;;) {
      if (this.i >= text.length) {
        if (dq || sq) {
          throw new ConfigSyntaxError(
            this.here(),
            `unexpected end of file, expecting a closing ${dq ? '"' : "'"} for the quote opened at line ${wordLine} column ${wordCol}`,
          );
        }
        if (inWord) throw new ConfigSyntaxError(this.here(), "unexpected end of file, expecting ';' or '{'");
        if (args.length > 0) {
          throw new ConfigSyntaxError(this.here(), `unexpected end of file, expecting ';' or '{' after '${args[0]}'`);
        }
        return { args, argPos, end: End.EOF, endPos: this.here() };
      }
      const ch = text[this.i];
      const chLine = this.line;
      const chCol = this.col;
      this.i++;
      if (ch === '\n') {
        this.line++;
        this.col = 1;
      } else {
        this.col++;
      }

      if (ch === '\n' || ch === '\r') {
        comment = false;
        if (args.length > 0) throw endOfLine(this.posOf(chLine, chCol), args[0]!);
      }
      if (comment) continue;

      if (needSpace) {
        if (isSpace(ch)) {
          needSpace = false;
          continue;
        }
        if (ch === ';') return { args, argPos, end: End.Entire, endPos: this.posOf(chLine, chCol) };
        if (ch === '{') return { args, argPos, end: End.BlockStart, endPos: this.posOf(chLine, chCol) };
        throw new ConfigSyntaxError(
          this.posOf(chLine, chCol),
          `unexpected ${show(ch)} after a closing quote, expecting a space, ';' or '{'`,
        );
      }

      if (!inWord) {
        if (isSpace(ch)) continue;
        switch (ch) {
          case ';':
            if (args.length === 0) throw new ConfigSyntaxError(this.posOf(chLine, chCol), "unexpected ';', expecting a directive name");
            return { args, argPos, end: End.Entire, endPos: this.posOf(chLine, chCol) };
          case '{':
            if (args.length === 0) throw new ConfigSyntaxError(this.posOf(chLine, chCol), "unexpected '{', expecting a directive name");
            return { args, argPos, end: End.BlockStart, endPos: this.posOf(chLine, chCol) };
          case '}':
            if (args.length !== 0) {
              throw new ConfigSyntaxError(this.posOf(chLine, chCol), `unexpected '}', expecting ';' to end '${args.join(' ')}'`);
            }
            return { args, argPos, end: End.BlockEnd, endPos: this.posOf(chLine, chCol) };
          case '#':
            comment = true;
            continue;
          case '"':
          case "'":
            if (ch === '"') dq = true;
            else sq = true;
            inWord = true;
            wordStart = this.i;
            wordLine = chLine;
            wordCol = chCol;
            continue;
          default:
            inWord = true;
            wordStart = this.i - 1;
            wordLine = chLine;
            wordCol = chCol;
            continue;
        }
      }

      // inside a word
      if (dq || sq) {
        if ((dq && ch === '"') || (sq && ch === "'")) {
          dq = sq = false;
          inWord = false;
          needSpace = true;
          pushWord(this.i - 1);
        }
        continue;
      }
      if (isSpace(ch) || ch === ';' || ch === '{') {
        inWord = false;
        pushWord(this.i - 1);
        if (ch === ';') return { args, argPos, end: End.Entire, endPos: this.posOf(chLine, chCol) };
        if (ch === '{') return { args, argPos, end: End.BlockStart, endPos: this.posOf(chLine, chCol) };
        // a word that ends the line ("listen\n1935;"): SRS refuses it, as it does "listen 1935\n;"
        if ((ch === '\n' || ch === '\r') && args.length > 0) throw endOfLine(this.posOf(chLine, chCol), args[0]!);
      }
    }
  }
}

/**
 * Parses config text into directives. `file` is the name used in messages; includes are read
 * through `opts.readInclude` (the loader resolves them against the cwd, as SRS does).
 */
export function parseConf(text: string, file: string, opts: ParseOptions = {}): Directive[] {
  const lexer = new Lexer(text, file);
  const depth = opts.depth ?? 0;
  return parseBlock(lexer, file, { ...opts, budget: opts.budget ?? { files: 0 } }, depth, undefined, opts.level ?? 0);
}

function parseBlock(lexer: Lexer, file: string, opts: ParseOptions, depth: number, open: Directive | undefined, level: number): Directive[] {
  const out: Directive[] = [];
  for (;;) {
    const tok = lexer.next();
    if (tok.end === End.BlockEnd) {
      if (open) return out;
      throw new ConfigSyntaxError(tok.endPos, "unexpected '}', no block is open here");
    }
    if (tok.end === End.EOF) {
      if (!open) return out;
      throw new ConfigSyntaxError(
        tok.endPos,
        `unexpected end of file, expecting '}' to close '${open.name}' opened at line ${open.pos.line}`,
      );
    }
    const [name, ...args] = tok.args;
    const pos = tok.argPos[0]!;
    if (name !== 'include') {
      const d: Directive = { name: name!, args, children: [], block: tok.end === End.BlockStart, pos };
      out.push(d);
      if (tok.end === End.BlockStart) {
        if (level + 1 > MAX_BLOCK_DEPTH) {
          throw new ConfigSyntaxError(pos, `blocks nested deeper than ${MAX_BLOCK_DEPTH} levels`, 'close the blocks that are open: each { needs its }');
        }
        d.children = parseBlock(lexer, file, opts, depth, d, level + 1);
      }
      continue;
    }
    if (tok.end === End.BlockStart) {
      throw new ConfigSyntaxError(tok.endPos, "unexpected '{' after include, expecting ';'");
    }
    if (args.length === 0) {
      throw new ConfigSyntaxError(pos, 'include needs at least one file', 'write: include ./conf/other.conf;');
    }
    if (!opts.readInclude) throw new ConfigSyntaxError(pos, 'include is not allowed here');
    if (depth + 1 > MAX_INCLUDE_DEPTH) {
      throw new ConfigSyntaxError(pos, `include nested deeper than ${MAX_INCLUDE_DEPTH} levels (an include cycle?)`);
    }
    args.forEach((inc, k) => {
      if (++opts.budget!.files > MAX_INCLUDE_FILES) {
        throw new ConfigSyntaxError(tok.argPos[k + 1]!, `more than ${MAX_INCLUDE_FILES} include files in one config`, 'include each file once');
      }
      let text: string;
      try {
        text = opts.readInclude!(inc);
      } catch (err) {
        throw new ConfigSyntaxError(
          tok.argPos[k + 1]!,
          `cannot read include file ${inc}: ${(err as Error).message}`,
          'include paths are relative to the working directory, as in SRS',
        );
      }
      for (const d of parseConf(text, inc, { ...opts, depth: depth + 1, level })) out.push(d);
    });
  }
}
