/**
 * Pure parsers for what valgrind memcheck and AddressSanitizer write: text in, typed records out.
 *
 * memcheck (`--log-file`): every line starts `==PID==`; records are separated by a bare prefix
 * line. A record whose second line is a frame (`at 0x…:` / `by 0x…:`) is an error ("Invalid write
 * of size 1") or a leak ("4,096 (+4,096) bytes in 1 (+1) blocks are definitely lost in loss record
 * 5 of 9", the `(+N)` parts from incremental checks); `LEAK SUMMARY:` blocks give the totals, one
 * per check (the API's incremental checks, then the one at exit).
 *
 * ASAN (`log_path`): `==PID==ERROR: AddressSanitizer: heap-buffer-overflow on address …`, the
 * access line, `#N 0x… in fn file:line` frames, the allocation stack, and `SUMMARY: …`.
 */

export interface Frame {
  fn: string;
  /** `file:line` or `in /lib/x.so` */
  where: string;
}

export interface MemcheckError {
  pid: number;
  kind: string;
  stack: Frame[];
  /** the lines after the first stack (Address … is 0 bytes after a block …, and its stack) */
  detail: string[];
}

export type LeakKind = 'definitely lost' | 'indirectly lost' | 'possibly lost' | 'still reachable';

export interface LeakRecord {
  pid: number;
  kind: LeakKind;
  bytes: number;
  blocks: number;
  /** the increase since the previous check, when the check was incremental */
  bytesAdded?: number;
  blocksAdded?: number;
  record: number;
  /** which leak check printed it: 0 for the first (records come before their LEAK SUMMARY) */
  check: number;
  stack: Frame[];
}

export interface LeakSummary {
  pid: number;
  definitelyLost: number;
  indirectlyLost: number;
  possiblyLost: number;
  stillReachable: number;
  suppressed: number;
  /** incremental check: the change of definitely lost bytes */
  definitelyLostAdded?: number;
}

export interface MemcheckReport {
  pids: number[];
  errors: MemcheckError[];
  leaks: LeakRecord[];
  summaries: LeakSummary[];
  /** the last `ERROR SUMMARY: N errors` (with --errors-for-leak-kinds, lost blocks count too) */
  errorCount?: number;
}

const PREFIX = /^==(\d+)== ?(.*)$/;
const FRAME = /^\s+(?:at|by) 0x[0-9A-Fa-f]+: (.+?) \((.+)\)$/;
const LEAK = /^([\d,]+)(?: \(([+-][\d,]+)\))?(?: \([\d,]+ direct, [\d,]+ indirect\))? bytes in ([\d,]+)(?: \(([+-][\d,]+)\))? blocks are (definitely lost|indirectly lost|possibly lost|still reachable) in loss record ([\d,]+) of [\d,]+/;
const SUMMARY_LINE = /^\s*(definitely lost|indirectly lost|possibly lost|still reachable|suppressed): ([\d,]+)(?: \(([+-][\d,]+)\))? bytes/;

const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s.replace(/[,+]/g, '')));
/** "+4,096" / "-16" from an incremental check */
const signed = (s: string | undefined): number | undefined => (s === undefined ? undefined : num(s));

export function parseMemcheckLog(text: string): MemcheckReport {
  const report: MemcheckReport = { pids: [], errors: [], leaks: [], summaries: [] };
  // group the prefixed lines into blocks, per pid, split at bare prefix lines
  const blocks: Array<{ pid: number; lines: string[] }> = [];
  const open = new Map<number, { pid: number; lines: string[] }>();
  for (const raw of text.split('\n')) {
    const m = PREFIX.exec(raw);
    if (!m) continue;
    const pid = Number(m[1]);
    if (!report.pids.includes(pid)) report.pids.push(pid);
    const line = m[2]!;
    if (line.trim() === '') {
      const b = open.get(pid);
      if (b && b.lines.length) blocks.push(b);
      open.delete(pid);
      continue;
    }
    let b = open.get(pid);
    if (!b) open.set(pid, (b = { pid, lines: [] }));
    b.lines.push(line);
  }
  for (const b of open.values()) if (b.lines.length) blocks.push(b);

  for (const { pid, lines } of blocks) {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (/^LEAK SUMMARY:/.test(line)) {
        const s: LeakSummary = { pid, definitelyLost: 0, indirectlyLost: 0, possiblyLost: 0, stillReachable: 0, suppressed: 0 };
        for (let m; i + 1 < lines.length && (m = SUMMARY_LINE.exec(lines[i + 1]!)); i++) {
          const v = num(m[2]);
          if (m[1] === 'definitely lost') {
            s.definitelyLost = v;
            if (m[3] !== undefined) s.definitelyLostAdded = signed(m[3]);
          } else if (m[1] === 'indirectly lost') s.indirectlyLost = v;
          else if (m[1] === 'possibly lost') s.possiblyLost = v;
          else if (m[1] === 'still reachable') s.stillReachable = v;
          else s.suppressed = v;
        }
        report.summaries.push(s);
        continue;
      }
      const es = /^ERROR SUMMARY: ([\d,]+) errors? from/.exec(line);
      if (es) {
        report.errorCount = num(es[1]);
        continue;
      }
      // a record: a header line followed by its stack; what follows the stack is detail
      if (FRAME.test(line) || i + 1 >= lines.length || !FRAME.test(lines[i + 1]!)) continue;
      const stack: Frame[] = [];
      let j = i + 1;
      for (let f; j < lines.length && (f = FRAME.exec(lines[j]!)); j++) stack.push({ fn: f[1]!, where: f[2]! });
      const leak = LEAK.exec(line);
      if (leak) {
        report.leaks.push({
          pid,
          kind: leak[5] as LeakKind,
          bytes: num(leak[1]),
          blocks: num(leak[3]),
          bytesAdded: signed(leak[2]),
          blocksAdded: signed(leak[4]),
          record: num(leak[6]),
          check: report.summaries.length,
          stack,
        });
      } else {
        report.errors.push({ pid, kind: line.trim(), stack, detail: lines.slice(j).map((l) => l.trim()) });
      }
      break; // one record per block
    }
  }
  return report;
}

export interface AsanFinding {
  pid: number;
  /** heap-buffer-overflow, heap-use-after-free, … */
  kind: string;
  /** the access line: "WRITE of size 1 at 0x… thread T0" */
  access: string;
  stack: Frame[];
  /** "0x… is located 0 bytes to the right of 16-byte region …" */
  location?: string;
  allocatedAt: Frame[];
  /** SUMMARY: AddressSanitizer: heap-buffer-overflow ../src/x.c:165 in fn */
  summary?: string;
}

const ASAN_FRAME = /^\s*#\d+ 0x[0-9a-f]+ in (.+?)(?: (\S+:\d+(?::\d+)?|\(\S+\)))?$/;

export function parseAsanLog(text: string): AsanFinding[] {
  const out: AsanFinding[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^==(\d+)==ERROR: AddressSanitizer: (\S+)/.exec(lines[i]!);
    if (!m) continue;
    const f: AsanFinding = { pid: Number(m[1]), kind: m[2]!, access: '', stack: [], allocatedAt: [] };
    let target: Frame[] | undefined;
    for (i++; i < lines.length; i++) {
      const line = lines[i]!;
      if (/^==\d+==ERROR: AddressSanitizer/.test(line)) {
        i--;
        break;
      }
      if (line.startsWith('SUMMARY: AddressSanitizer:')) {
        f.summary = line.slice('SUMMARY: '.length).trim();
        break;
      }
      const fr = ASAN_FRAME.exec(line);
      if (fr) {
        (target ??= f.stack).push({ fn: fr[1]!, where: (fr[2] ?? '').replace(/^\(|\)$/g, '') });
        continue;
      }
      if (line.trim() === '') {
        if (target === f.stack && f.stack.length) target = undefined;
        continue;
      }
      if (!f.access && /^(READ|WRITE) of size|^(Read|Write)/.test(line)) f.access = line.trim();
      else if (/ is located /.test(line)) f.location = line.trim();
      else if (/allocated by thread/.test(line)) target = f.allocatedAt;
      else if (/freed by thread|previously allocated by thread/.test(line)) target = [];
    }
    if (!f.access && f.stack.length === 0) f.access = '(no access line)';
    out.push(f);
  }
  return out;
}

/** The first frame that is not the allocator or the sanitizer's own: where a finding points. */
export function firstOwnFrame(stack: Frame[]): Frame | undefined {
  return stack.find((f) => !/^(malloc|calloc|realloc|free|operator new|__interceptor_|__asan_|_dl_)/.test(f.fn) && !/vg_replace_malloc|vgpreload_|asan_malloc/.test(f.where)) ?? stack[0];
}
