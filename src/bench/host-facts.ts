import si from 'systeminformation';

/** The machine a benchmark ran on, for the report. */
export async function hostFacts(): Promise<Record<string, string>> {
  const [cpu, mem, os, versions] = await Promise.all([si.cpu(), si.mem(), si.osInfo(), si.versions('node')]);
  return {
    cpu: `${cpu.manufacturer} ${cpu.brand} (${cpu.cores} cores)`,
    memory: `${(mem.total / 1024 ** 3).toFixed(1)} GiB`,
    os: `${os.distro} ${os.release}, kernel ${os.kernel}`,
    node: versions.node ?? process.versions.node,
  };
}
