import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors.js';

export const DEFAULT_PERSIST_FILE = '/etc/sysctl.d/90-srsx.conf';
const MARK = '# srsx tune';

function atomicWrite(file: string, text: string, backUp: boolean): string | undefined {
  let backup: string | undefined;
  try {
    if (backUp && existsSync(file)) {
      backup = `${file}.srsx-backup`;
      copyFileSync(file, backup);
    }
    const tmp = `${file}.srsx-tmp-${process.pid}`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    throw new UserError(`cannot write ${file}: ${(err as Error).message}`, { hint: 'run as root, or choose another --persist-file' });
  }
  return backup;
}

/**
 * Merges `key = value` lines into sysctl.conf-style text: existing lines for srsx's keys become
 * `key = value` in place (a leading '-' and an inline `# comment` kept),
 * missing keys are appended under a marker, every other line and comment is kept as it was.
 */
export function mergeSysctlText(original: string, entries: ReadonlyArray<{ key: string; value: string }>): string {
  const want = new Map(entries.map((e) => [e.key, e.value]));
  const seen = new Set<string>();
  const lines = original === '' ? [] : original.replace(/\n$/, '').split('\n');
  const out = lines.map((line) => {
    // prefix (indent, '-'), key, ' = ', value, then an inline comment: whitespace and # or ;
    const m = /^(\s*-?\s*)([A-Za-z0-9_.\/-]+)(\s*=\s*)(.*?)(\s+[#;].*)?$/.exec(line);
    if (!m) return line;
    const key = m[2]!.replaceAll('/', '.');
    if (!want.has(key)) return line;
    if (seen.has(key)) return `# ${line}  ${MARK}: duplicate, superseded above`;
    seen.add(key);
    return `${m[1]!.includes('-') ? '-' : ''}${key} = ${want.get(key)}${m[5] ?? ''}`;
  });
  const missing = entries.filter((e) => !seen.has(e.key));
  if (missing.length > 0) {
    out.push(`${MARK} (${new Date().toISOString().slice(0, 10)})`);
    for (const e of missing) out.push(`${e.key} = ${e.value}`);
  }
  return out.join('\n') + '\n';
}

/**
 * Writes the sysctls so they survive a reboot; returns the file, its backup (the file as it was) if
 * it existed, and whether it was created. `earlier` is what an apply since the last revert already
 * recorded for this file: then the backup made then is the original and is not overwritten.
 */
export function persistSysctls(entries: ReadonlyArray<{ key: string; value: string }>, file = DEFAULT_PERSIST_FILE, earlier?: { backup?: string }): { file: string; backup?: string; created: boolean } {
  const existed = existsSync(file);
  const original = existed ? readFileSync(file, 'utf8') : file === DEFAULT_PERSIST_FILE ? `${MARK}: settings written by srsx tune --persist (srsx tune revert removes this file)\n` : '';
  if (earlier) {
    atomicWrite(file, mergeSysctlText(original, entries), false);
    return { file, backup: earlier.backup, created: earlier.backup === undefined };
  }
  const backup = atomicWrite(file, mergeSysctlText(original, entries), true);
  return { file, backup, created: !existed };
}

/**
 * Undoes --persist: the backup (the file before the first persist) is moved back over the file,
 * or the file is removed when srsx created it. Returns what was done, in words.
 */
export function unpersist(record: { file: string; backup?: string }): string {
  try {
    if (record.backup !== undefined) {
      if (!existsSync(record.backup)) throw new Error(`its backup ${record.backup} is missing`);
      renameSync(record.backup, record.file);
      return `restored ${record.file} from ${record.backup}`;
    }
    rmSync(record.file, { force: true });
    return `removed ${record.file}`;
  } catch (err) {
    throw new UserError(`cannot undo --persist in ${record.file}: ${(err as Error).message}`, { hint: 'run as root; or restore the file by hand, then run srsx tune revert again', exitCode: 3 });
  }
}

/** systemd unit lines that make process settings permanent. */
export function systemdLines(opts: { cpus?: string; nice?: number; nofile?: number }): string[] {
  const lines: string[] = [];
  if (opts.cpus !== undefined) lines.push(`CPUAffinity=${opts.cpus.replaceAll(',', ' ')}`);
  if (opts.nice !== undefined) lines.push(`Nice=${opts.nice}`);
  if (opts.nofile !== undefined) lines.push(`LimitNOFILE=${opts.nofile}`);
  return lines;
}
