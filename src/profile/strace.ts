import { UserError } from '../errors.js';
import { hasCommand, missingCommand, runCommand } from '../host/exec.js';

export interface SyscallRow {
  syscall: string;
  percentTime: number;
  seconds: number;
  usecsPerCall: number;
  calls: number;
  errors: number;
}

/** The table `strace -c` prints at the end. */
export function parseStraceSummary(text: string): SyscallRow[] {
  const rows: SyscallRow[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)\s+(?:(\d+)\s+)?([a-z_0-9]+)\s*$/.exec(line);
    if (!m || m[6] === 'total') continue;
    rows.push({ percentTime: Number(m[1]), seconds: Number(m[2]), usecsPerCall: Number(m[3]), calls: Number(m[4]), errors: Number(m[5] ?? 0), syscall: m[6]! });
  }
  return rows;
}

/** `strace -c -f -p PID` for a while (the guide's `strace -c -p PID`). */
export async function straceSummary(pid: number, seconds: number): Promise<SyscallRow[]> {
  if (!(await hasCommand('strace'))) throw missingCommand('strace');
  const r = await runCommand('timeout', ['-s', 'INT', String(seconds), 'strace', '-c', '-f', '-p', String(pid)], { timeoutMs: (seconds + 30) * 1000 });
  const rows = parseStraceSummary(r.stderr);
  if (rows.length === 0) {
    const last = r.stderr.trim().split('\n').pop() ?? '';
    if (/Operation not permitted|ptrace/.test(r.stderr)) throw new UserError(`strace cannot attach to pid ${pid}: ${last}`, { hint: 'run as root, or: sysctl -w kernel.yama.ptrace_scope=0' });
    throw new UserError(`strace saw no system calls of pid ${pid}${last ? `: ${last}` : ''}`, { hint: 'is the process running and busy?', exitCode: 1 });
  }
  return rows.sort((a, b) => b.percentTime - a.percentTime);
}
