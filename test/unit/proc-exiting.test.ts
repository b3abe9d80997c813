/**
 * /proc readers and processes that exit between listing /proc and reading their files: the kernel
 * answers ENOENT, or ESRCH for a process being reaped. Such a process is skipped, never an error.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../src/errors.js';
import { isMissing, HostRoot } from '../../src/host/root.js';
import { findByName, parentPid, readCmdline, readProcess, serverCandidates, threadCpus } from '../../src/host/proc-process.js';
import { socketOwners } from '../../src/host/proc-net.js';
import { readThreads } from '../../src/host/proc-stat.js';
import { sampleProcess } from '../../src/host/proc-sampler.js';
import { readProcessSettings, readProcessStart } from '../../src/host/process.js';

const esrch = (p: string) => Object.assign(new Error(`ESRCH: no such process, read '${p}'`), { code: 'ESRCH' });

/** A host whose pid 4242 is listed in /proc but whose every file answers ESRCH (being reaped). */
class ReapingHost extends HostRoot {
  override async read(hostPath: string): Promise<string> {
    if (hostPath.startsWith('/proc/4242/')) throw esrch(hostPath);
    return super.read(hostPath);
  }
}

function host(): ReapingHost {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'srsx-reaping-'));
  const stat = (pid: number, comm: string) => `${pid} (${comm}) S 0 ${pid} ${pid} 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 12345 1000000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`;
  // 4242: being reaped (its files exist, reading them gives ESRCH); 4343: gone, only its directory listed
  for (const pid of [4242, 4343]) mkdirSync(path.join(dir, `proc/${pid}`), { recursive: true });
  mkdirSync(path.join(dir, 'proc/4242/task/4242'), { recursive: true });
  mkdirSync(path.join(dir, 'proc/4242/fd'), { recursive: true });
  for (const f of ['stat', 'status', 'comm', 'cmdline', 'limits', 'task/4242/stat']) writeFileSync(path.join(dir, 'proc/4242', f), 'x');
  // 1: alive
  mkdirSync(path.join(dir, 'proc/1/task/1'), { recursive: true });
  mkdirSync(path.join(dir, 'proc/1/fd'), { recursive: true });
  writeFileSync(path.join(dir, 'proc/1/stat'), stat(1, 'srs'));
  writeFileSync(path.join(dir, 'proc/1/task/1/stat'), stat(1, 'srs'));
  writeFileSync(path.join(dir, 'proc/1/task/1/schedstat'), '1000 2000 3\n');
  writeFileSync(path.join(dir, 'proc/1/comm'), 'srs\n');
  writeFileSync(path.join(dir, 'proc/1/cmdline'), 'srs\0-c\0conf/srs.conf\0');
  return new ReapingHost(dir);
}

describe('/proc reads of a process that exits meanwhile', () => {
  it('ESRCH counts as missing, like ENOENT and ENOTDIR; other errors do not', () => {
    for (const code of ['ENOENT', 'ENOTDIR', 'ESRCH']) expect(isMissing({ code })).toBe(true);
    for (const code of ['EACCES', 'EIO', 'EMFILE']) expect(isMissing({ code })).toBe(false);
  });

  it('readOptional and list answer undefined / [] for it', async () => {
    const root = host();
    await expect(root.readOptional('/proc/4242/stat')).resolves.toBeUndefined();
    await expect(root.list('/proc/4343/task')).resolves.toEqual([]);
    await expect(root.read('/proc/4242/stat')).rejects.toMatchObject({ code: 'ESRCH' });
  });

  it('listing readers skip it and still find the living', async () => {
    const root = host();
    expect(await findByName(root, ['srs'])).toEqual([1]);
    expect((await serverCandidates(root)).map((c) => c.pid)).toEqual([1]);
    expect((await readThreads(root)).map((t) => t.tid)).toEqual([1]);
    expect((await socketOwners(root)).size).toBe(0);
  });

  it('per-pid readers answer "gone" (undefined, [], or the usual no-such-process error)', async () => {
    const root = host();
    for (const pid of [4242, 4343]) {
      await expect(readCmdline(root, pid)).resolves.toBeUndefined();
      await expect(parentPid(root, pid)).resolves.toBeUndefined();
      await expect(threadCpus(root, pid)).resolves.toEqual([]);
      await expect(sampleProcess(pid, root)).resolves.toBeUndefined();
      await expect(readProcessStart(root, pid)).resolves.toBeUndefined();
      await expect(readProcess(root, pid)).rejects.toThrow(UserError);
      await expect(readProcess(root, pid)).rejects.toThrow(`no process with pid ${pid}`);
      await expect(readProcessSettings(root, pid)).rejects.toThrow(UserError);
    }
  });
});
