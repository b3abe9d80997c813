import { UserError } from '../errors.js';
import type { HostRoot } from './root.js';

/** /proc/sys path of a sysctl key: net.core.rmem_max → /proc/sys/net/core/rmem_max */
export function sysctlPath(key: string): string {
  if (!/^[a-z0-9_]+(\.[a-z0-9_-]+)+$/i.test(key)) throw new UserError(`'${key}' is not a sysctl name`, { hint: 'use dotted names such as net.core.rmem_max' });
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

/** Whitespace-normalised value, as `sysctl -n` prints it. */
export function normaliseSysctl(value: string): string {
  return value.trim().split(/\s+/).join(' ');
}

export async function readSysctl(root: HostRoot, key: string): Promise<string | undefined> {
  const text = await root.readOptional(sysctlPath(key));
  return text === undefined ? undefined : normaliseSysctl(text);
}

/** Why a write to /proc/sys failed, in words an operator can act on. */
export class HostWriteError extends Error {
  constructor(
    readonly target: string,
    readonly code: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export function explainWriteError(target: string, err: NodeJS.ErrnoException, inContainer: boolean): HostWriteError {
  const code = err.code ?? 'EIO';
  if ((code === 'EROFS' || code === 'EACCES' || code === 'EPERM') && target.startsWith('/proc/sys/net') && inContainer) {
    return new HostWriteError(target, code, `${target} is read-only inside this container`,
      'these sysctls belong to the host (or the container\'s network namespace): run srsx tune on the host, or start the container with --network=host or --sysctl net.core.rmem_max=...');
  }
  if (code === 'EACCES' || code === 'EPERM') return new HostWriteError(target, code, `no permission to write ${target}`, 'run as root (sudo srsx tune ...)');
  if (code === 'EROFS') return new HostWriteError(target, code, `${target} is on a read-only file system`, 'tune the host this runs on');
  if (code === 'EINVAL') return new HostWriteError(target, code, `the kernel rejected the value for ${target}`, 'check the value is in range for this kernel');
  if (code === 'ENOENT') return new HostWriteError(target, code, `${target} does not exist on this kernel`, 'the setting is not available here');
  return new HostWriteError(target, code, `cannot write ${target}: ${err.message}`, 'see the error above');
}

export async function writeSysctl(root: HostRoot, key: string, value: string, inContainer: boolean): Promise<void> {
  const p = sysctlPath(key);
  try {
    await root.write(p, value + '\n');
  } catch (err) {
    throw explainWriteError(p, err as NodeJS.ErrnoException, inContainer);
  }
}

/** True when this looks like a container (Docker, Podman, LXC, Kubernetes). */
export async function inContainer(root: HostRoot): Promise<boolean> {
  if (await root.exists('/.dockerenv')) return true;
  if (await root.exists('/run/.containerenv')) return true;
  const env1 = await root.readOptional('/proc/1/environ');
  if (env1 && /container=/.test(env1)) return true;
  const cg = await root.readOptional('/proc/1/cgroup');
  return !!cg && /docker|kubepods|lxc|containerd/.test(cg);
}
