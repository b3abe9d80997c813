/**
 * The real /proc while processes come and go: every reader that lists /proc and then reads each
 * process's files must skip the ones that exited in between (ENOENT, ESRCH), never fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostRoot } from '../../src/host/root.js';
import { findByName, serverCandidates } from '../../src/host/proc-process.js';
import { socketOwners } from '../../src/host/proc-net.js';
import { readThreads } from '../../src/host/proc-stat.js';
import { runCli } from '../helpers/env.js';
import { stopChild } from '../helpers/serve.js';

/** A shell that starts short-lived processes (batches of 10 sleeps of 10-50 ms) for at most `seconds`. */
function churn(seconds: number): ChildProcess {
  const script = `end=$(( $(date +%s) + ${seconds} )); n=0
while [ $(date +%s) -lt $end ] && [ $n -lt 5000 ]; do
  for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.0$i & done; wait; n=$((n+10))
done`;
  return spawn('sh', ['-c', script], { stdio: 'ignore' });
}

describe('/proc readers under process churn', () => {
  let shell: ChildProcess | undefined;
  afterEach(async () => {
    if (shell) await stopChild(shell, 'SIGKILL');
  });

  it('readThreads, serverCandidates, findByName and socketOwners never fail (40 rounds)', async () => {
    shell = churn(30);
    const root = hostRoot();
    const t0 = Date.now();
    let rounds = 0;
    while (rounds < 40 && Date.now() - t0 < 25_000) {
      const [threads] = await Promise.all([readThreads(root), serverCandidates(root), findByName(root, ['sleep']), socketOwners(root)]);
      expect(threads.length).toBeGreaterThan(0);
      rounds++;
    }
    // each round lists every process several times: a loaded CI machine did 5 in 15 s once
    expect(rounds).toBeGreaterThanOrEqual(3);
  }, 45_000);

  it('srsx diagnose cpu and udp-queue answer with a report (no raw JSON unless --json), not an internal error', async () => {
    shell = churn(20);
    // --pid: other servers may run on this machine (several candidates would be a usage error)
    const pid = String(process.pid);
    for (const args of [['diagnose', 'cpu', '--interval', '1s', '--pid', pid], ['diagnose', 'udp-queue', '--pid', pid], ['diagnose', 'cpu', '--interval', '1s', '--json', '--pid', pid]]) {
      const r = runCli(args, { timeoutMs: 30_000 });
      expect(`${args.join(' ')}: ${r.stderr}`).not.toMatch(/internal error|ESRCH|ENOENT/);
      expect([0, 1]).toContain(r.code);
      expect(r.stdout.length).toBeGreaterThan(0);
      // the human output is tables and sentences; JSON only with --json
      if (args.includes('--json')) expect(() => JSON.parse(r.stdout)).not.toThrow();
      else expect(r.stdout).not.toMatch(/[{}"]|\[object/);
    }
  }, 60_000);
});
