import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * The host's filesystem as srsx sees it. Everything under /proc, /sys and /etc is read
 * and written through a HostRoot so tests can point srsx at a fixture tree
 * (SRSX_HOST_ROOT=test/fixtures/hosts/x, or `new HostRoot(dir)`).
 */
export class HostRoot {
  readonly root: string;

  constructor(root: string = process.env.SRSX_HOST_ROOT || '/') {
    this.root = path.resolve(root);
  }

  /** True when this is the real machine (commands like sysctl and taskset may be used). */
  get isReal(): boolean {
    return this.root === '/';
  }

  /** Absolute path on this machine of a host path such as '/proc/net/snmp'. */
  resolve(hostPath: string): string {
    return this.isReal ? hostPath : path.join(this.root, hostPath);
  }

  async read(hostPath: string): Promise<string> {
    return fs.readFile(this.resolve(hostPath), 'utf8');
  }

  async readOptional(hostPath: string): Promise<string | undefined> {
    try {
      return await this.read(hostPath);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async write(hostPath: string, text: string): Promise<void> {
    await fs.writeFile(this.resolve(hostPath), text);
  }

  async exists(hostPath: string): Promise<boolean> {
    try {
      await fs.access(this.resolve(hostPath));
      return true;
    } catch {
      return false;
    }
  }

  async list(hostDir: string): Promise<string[]> {
    try {
      return (await fs.readdir(this.resolve(hostDir))).sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  async readLink(hostPath: string): Promise<string | undefined> {
    try {
      return await fs.readlink(this.resolve(hostPath));
    } catch {
      return undefined;
    }
  }
}

/**
 * True for the errors of a path that is not there: ENOENT, ENOTDIR, and ESRCH, which /proc gives
 * for the files of a process (or thread) that exited between listing /proc and reading them.
 */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ESRCH';
}

let defaultRoot: HostRoot | undefined;
/** The HostRoot for this process (honours SRSX_HOST_ROOT). */
export function hostRoot(): HostRoot {
  defaultRoot ??= new HostRoot();
  return defaultRoot;
}
