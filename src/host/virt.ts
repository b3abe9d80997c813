import { hasCommand, runCommand } from './exec.js';
import type { HostRoot } from './root.js';

/** Where this host runs: a hypervisor (or none) and a container (or none), and how each was found. */
export interface Virtualisation {
  /** 'kvm', 'bhyve', 'vmware', 'microsoft', 'xen', 'vm' (a hypervisor of unknown name) or 'none' */
  vm: string;
  /** 'docker', 'podman', 'lxc', 'kubernetes', 'containerd', … or 'none' */
  container: string;
  /** what said so: 'systemd-detect-virt', or the files read */
  source: string;
}

async function readSafe(root: HostRoot, file: string): Promise<string | undefined> {
  try {
    return await root.readOptional(file);
  } catch {
    return undefined; // e.g. /proc/1/environ is root-only, and unreadable in some containers even for root
  }
}

/** The hypervisor flag of /proc/cpuinfo (CPUID leaf 1 ECX bit 31: set by every x86 hypervisor). */
export function cpuinfoHasHypervisor(cpuinfo: string): boolean {
  return /^flags\s*:.*\bhypervisor\b/m.test(cpuinfo);
}

const VENDORS: Array<[RegExp, string]> = [
  [/^QEMU|KVM/i, 'kvm'],
  [/VMware/i, 'vmware'],
  [/Microsoft/i, 'microsoft'],
  [/Xen/i, 'xen'],
  [/innotek|VirtualBox|Oracle/i, 'oracle'],
  [/Amazon EC2/i, 'amazon'],
  [/Google/i, 'google'],
  [/BHYVE/i, 'bhyve'],
  [/Parallels/i, 'parallels'],
];

/** From files only (a fixture tree, or no systemd-detect-virt): cpuinfo, DMI, /sys/hypervisor; cgroup, marker files, pid 1's environment. */
export async function detectFromFiles(root: HostRoot): Promise<Virtualisation> {
  const read: string[] = [];
  let vm = 'none';
  const xen = (await readSafe(root, '/sys/hypervisor/type'))?.trim();
  const cpuinfo = await readSafe(root, '/proc/cpuinfo');
  const dmi = [(await readSafe(root, '/sys/class/dmi/id/sys_vendor'))?.trim(), (await readSafe(root, '/sys/class/dmi/id/product_name'))?.trim()].filter(Boolean).join(' ');
  if (xen) {
    vm = xen;
    read.push('/sys/hypervisor/type');
  } else if (cpuinfo !== undefined && cpuinfoHasHypervisor(cpuinfo)) {
    vm = VENDORS.find(([re]) => re.test(dmi))?.[1] ?? 'vm';
    read.push(dmi ? '/proc/cpuinfo hypervisor flag, DMI vendor' : '/proc/cpuinfo hypervisor flag');
  } else if (cpuinfo !== undefined) read.push('/proc/cpuinfo');

  let container = 'none';
  const environ = await readSafe(root, '/proc/1/environ');
  const cgroup = await readSafe(root, '/proc/1/cgroup');
  const fromEnv = environ ? /(?:^|\0)container=([^\0]+)/.exec(environ)?.[1] : undefined;
  if (await root.exists('/.dockerenv')) {
    container = 'docker';
    read.push('/.dockerenv');
  } else if (await root.exists('/run/.containerenv')) {
    container = 'podman';
    read.push('/run/.containerenv');
  } else if (fromEnv) {
    container = fromEnv;
    read.push('container= of pid 1');
  } else if (cgroup && /kubepods|docker|lxc|containerd|libpod/.test(cgroup)) {
    const m = /kubepods|docker|lxc|containerd|libpod/.exec(cgroup)![0];
    container = m === 'kubepods' ? 'kubernetes' : m === 'libpod' ? 'podman' : m;
    read.push('/proc/1/cgroup');
  } else if (cgroup !== undefined) read.push('/proc/1/cgroup');
  return { vm, container, source: read.join(', ') || 'nothing readable' };
}

/**
 * systemd-detect-virt (--vm, --container) when installed on the real host, as it knows more hypervisors
 * than any file test; else (or in a fixture tree) the files.
 */
export async function detectVirtualisation(root: HostRoot): Promise<Virtualisation> {
  const files = await detectFromFiles(root);
  if (!root.isReal || !(await hasCommand('systemd-detect-virt'))) return files;
  const ask = async (flag: string) => (await runCommand('systemd-detect-virt', [flag], { timeoutMs: 5000 })).stdout.trim() || 'none';
  const [vm, container] = await Promise.all([ask('--vm'), ask('--container')]);
  // systemd-detect-virt inside a container may not see the hypervisor (it reports the container first); the cpuinfo flag does
  return { vm: vm === 'none' && files.vm !== 'none' ? files.vm : vm, container: container === 'none' && files.container !== 'none' ? files.container : container, source: 'systemd-detect-virt' };
}

/** One phrase for the host facts: 'kvm', 'none (bare metal)'. */
export function describeVm(v: Virtualisation): string {
  return v.vm === 'none' ? 'none (bare metal)' : v.vm === 'vm' ? 'virtual machine (hypervisor flag)' : v.vm;
}
