// `srsx bench compare` with servers of several processes: srsx-workers:N (`srsx serve --workers N`: supervisor +
// workers) and srsx-edge (an srsx origin the stream is published to, an srsx edge the players play from). The row's
// CPU and memory are the sum of the processes; each process is listed with its own CPU, and the players get the stream.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { itIf, runCli } from '../helpers/env.js';

const itFF = itIf({ tools: ['ffmpeg'] });

interface Row {
  server: string;
  clients: number;
  conn: number;
  serverCpu: number;
  serverRssMB: number;
  expectedMbps: number;
  actualMbps: number;
  processes?: Array<{ role: string; pid: number; cpu: number; rssMB: number }>;
}

describe('bench compare: servers of several processes', () => {
  itFF('srsx-workers:2 and srsx-edge: every process measured, their sum in the row, the players served', () => {
    const r = runCli(['bench', 'compare', '--servers', 'srsx-workers:2,srsx-edge', '--clients', '20', '--hold', '3s', '--ramp', '20', '--json', '--out', mkdtempSync(path.join(os.tmpdir(), 'srsx-compare-multi-'))], { timeoutMs: 150_000 });
    expect(`exit ${r.code} ${r.stderr.slice(-500)}`).toBe('exit 0 ' + r.stderr.slice(-500));
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((x) => [x.server, x.clients, x.conn])).toEqual([['srsx-workers:2', 20, 20], ['srsx-edge', 20, 20]]);
    const [workers, edge] = rows as [Row, Row];
    expect(workers.processes!.map((p) => p.role)).toEqual(['supervisor', 'worker 0', 'worker 1']);
    expect(edge.processes!.map((p) => p.role)).toEqual(['origin', 'edge']);
    for (const row of rows) {
      const ps = row.processes!;
      expect(new Set(ps.map((p) => p.pid)).size).toBe(ps.length);
      for (const p of ps) {
        expect(Number.isFinite(p.cpu)).toBe(true);
        expect(p.rssMB).toBeGreaterThan(20);
      }
      expect(row.serverCpu).toBeCloseTo(ps.reduce((t, p) => t + p.cpu, 0), 5);
      expect(row.serverRssMB).toBeCloseTo(ps.reduce((t, p) => t + p.rssMB, 0), 5);
      // the stream reached the players through the workers' local origin / the edge
      expect(row.actualMbps / row.expectedMbps).toBeGreaterThan(0.9);
    }
  }, 180_000);

  it('refuses srsx-workers with --rtc, and a worker count out of range, with a hint', () => {
    const rtc = runCli(['bench', 'compare', '--rtc', '--servers', 'srsx-workers:2', '--clients', '1'], { timeoutMs: 20_000 });
    expect(rtc.code).toBe(2);
    expect(rtc.stderr).toMatch(/srsx-workers:2 is measured with RTMP players only/);
    const zero = runCli(['bench', 'compare', '--servers', 'srsx-workers:0', '--clients', '1'], { timeoutMs: 20_000 });
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/workers from 1 to 64/);
    expect(zero.stderr).toMatch(/hint: /);
  });
});
