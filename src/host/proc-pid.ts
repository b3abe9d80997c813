/**
 * One process as /proc shows it, for deciding whether a pid is what we think it is:
 * its command line (a pid file may name a pid that now belongs to another program) and the TCP
 * ports it listens on (which port a Node inspector opened, without trusting "whatever answers on 9229").
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { HostRoot } from './root.js';

/** argv of a running process (/proc/PID/cmdline, NUL-separated), or undefined when it is gone or unreadable. */
export function readCmdlineSync(root: HostRoot, pid: number): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(root.resolve(`/proc/${pid}/cmdline`), 'utf8');
  } catch {
    return undefined;
  }
  const args = text.split('\0');
  if (args[args.length - 1] === '') args.pop();
  return args;
}

/** (inode, port) of every TCP socket in state LISTEN (0A) in /proc/net/tcp{,6} text. */
export function parseListeners(text: string): Array<{ inode: number; port: number; local: string }> {
  const out: Array<{ inode: number; port: number; local: string }> = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 9 && f[3] === '0A') {
      const [addr, port] = f[1]!.split(':');
      out.push({ inode: Number(f[9]), port: Number.parseInt(port ?? '', 16), local: addr ?? '' });
    }
  }
  return out;
}

/** 127.0.0.0/8 and ::1 in /proc/net/tcp{,6}'s hex (little-endian words). */
function isLoopbackHex(local: string): boolean {
  if (local.length === 8) return local.endsWith('7F');
  return local === '00000000000000000000000001000000' || /^0000000000000000FFFF0000[0-9A-F]{6}7F$/.test(local);
}

/**
 * The TCP ports process `pid` listens on: its socket fds matched against its network namespace's
 * listeners (`loopbackOnly`: only those bound to 127.0.0.0/8 or ::1, where Node's inspector listens).
 */
export async function listeningPortsOf(root: HostRoot, pid: number, opts: { loopbackOnly?: boolean } = {}): Promise<number[]> {
  const inodes = new Set<number>();
  for (const fd of await root.list(`/proc/${pid}/fd`)) {
    const link = await root.readLink(`/proc/${pid}/fd/${fd}`);
    const m = link ? /^socket:\[(\d+)\]$/.exec(link) : null;
    if (m) inodes.add(Number(m[1]));
  }
  if (inodes.size === 0) return [];
  const ports = new Set<number>();
  for (const file of [`/proc/${pid}/net/tcp`, `/proc/${pid}/net/tcp6`]) {
    for (const l of parseListeners((await root.readOptional(file)) ?? '')) {
      if (inodes.has(l.inode) && (!opts.loopbackOnly || isLoopbackHex(l.local))) ports.add(l.port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}

/** True when argv is a Node.js process: the executable is node (node, nodejs, node20, …, or process.execPath). */
export function isNodeCommand(argv: readonly string[], exe?: string): boolean {
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  const names = [argv[0] ?? '', exe ?? ''].map(base);
  return names.some((n) => /^node(js)?(\d+)?$/.test(n)) || (exe !== undefined && exe === process.execPath);
}

/** The executable of a running process (/proc/PID/exe), or undefined. */
export async function readExe(root: HostRoot, pid: number): Promise<string | undefined> {
  const link = await root.readLink(`/proc/${pid}/exe`);
  return link?.replace(/ \(deleted\)$/, '');
}

/**
 * Descriptors open in process `pid` now (entries of /proc/PID/fd), 'EMFILE' when this process has
 * no descriptor left to read the directory with, or undefined.
 */
export function countOpenFdsSync(root: HostRoot, pid: number | 'self' = 'self'): number | 'EMFILE' | undefined {
  try {
    return readdirSync(root.resolve(`/proc/${pid}/fd`)).length;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? 'EMFILE' : undefined;
  }
}

/**
 * The soft RLIMIT_NOFILE of process `pid` (Infinity for unlimited), 'EMFILE' when this process has
 * no descriptor left to read it with, or undefined.
 */
export function readNofileSoftSync(root: HostRoot, pid: number | 'self' = 'self'): number | 'EMFILE' | undefined {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(readFileSync(root.resolve(`/proc/${pid}/limits`), 'utf8'));
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? 'EMFILE' : undefined;
  }
}
