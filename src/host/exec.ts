import { execa } from 'execa';
import { UserError } from '../errors.js';

export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Debian package that provides each external command srsx may run. */
const PACKAGE_OF: Record<string, string> = {
  sysctl: 'procps',
  taskset: 'util-linux',
  prlimit: 'util-linux',
  renice: 'bsdutils',
  netstat: 'net-tools',
  ss: 'iproute2',
  mpstat: 'sysstat',
  perf: 'linux-perf',
  valgrind: 'valgrind',
  strace: 'strace',
  ffmpeg: 'ffmpeg',
  ffprobe: 'ffmpeg',
  nginx: 'nginx libnginx-mod-rtmp',
};

/**
 * Run an external command (the only way srsx starts one for host work).
 * Never throws for a non-zero exit: callers look at exitCode. A missing command is a UserError
 * naming the package to install.
 */
export async function runCommand(
  command: string,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CommandResult> {
  try {
    const r = await execa(command, args, {
      reject: false,
      input: options.input,
      timeout: options.timeoutMs ?? 30_000,
      env: options.env,
      stripFinalNewline: false,
    });
    if ((r as { code?: string }).code === 'ENOENT' || (r.failed && r.exitCode === undefined && /ENOENT/.test(String(r.message)))) {
      throw missingCommand(command);
    }
    return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? 1 };
  } catch (err) {
    if (err instanceof UserError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missingCommand(command);
    throw err;
  }
}

export function missingCommand(command: string): UserError {
  const pkg = PACKAGE_OF[command];
  return new UserError(`${command} is not installed`, {
    hint: pkg ? `install it: apt-get install ${pkg}` : `install ${command} and make sure it is on PATH`,
  });
}

/** True when `command` can be found on PATH. */
export async function hasCommand(command: string): Promise<boolean> {
  const r = await execa('sh', ['-c', `command -v ${JSON.stringify(command)}`], { reject: false });
  return r.exitCode === 0;
}
