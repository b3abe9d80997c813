import { cpuReport, type CpuSample } from '../../src/diagnose/cpu.js';
import { cellText, renderReport } from '../../src/diagnose/render.js';
import type { CpuTimes, ThreadSample } from '../../src/host/proc-stat.js';

const times = (cpu: string, user: number, idle: number): CpuTimes => ({ cpu, user, nice: 0, system: 10, idle, iowait: 0, irq: 0, softirq: 5, steal: 0 });
const thread = (pid: number, tid: number, comm: string, runNs: number, cpu: number): ThreadSample => ({ pid, tid, comm, state: 'R', ticks: 0, cpu, runNs, waitNs: runNs / 10, timeslices: 1 });

function sample(at: number, k: number): CpuSample {
  return {
    at,
    stat: [times('cpu', 100 * k, 100 * k), times('cpu0', 60 * k, 40 * k), times('cpu1', 40 * k, 60 * k)],
    softirqs: { NET_RX: [1000 * k, 10 * k], NET_TX: [5 * k, 0] },
    nicRxPackets: 5000 * k,
    loRxPackets: 100 * k,
    threads: [thread(500, 500, 'srs', 4e8 * k, 0), thread(500, 501, 'srs-worker', 1e8 * k, 1), thread(700, 700, 'ffmpeg', 3e8 * k, 0), thread(700, 701, 'ffmpeg', 2e8 * k, 1)],
    server: { pid: 500, allowed: [0, 1] },
  };
}

describe('diagnose cpu for people', () => {
  const report = cpuReport(sample(0, 1), sample(1000, 2), 100, { pid: 500 });
  const text = renderReport(report);

  it('shows the data as tables and sentences, never as raw JSON', () => {
    expect(text).not.toMatch(/[{}"]|\[object/);
    expect(text).not.toMatch(/":|\[\d/);
  });

  it('has every part of the data: per-CPU rows, packet rates, the server per CPU and per thread, other processes', () => {
    expect(text).toMatch(/CPU │\s+%usr │/);
    expect(text).toMatch(/NET_RX\/s/);
    expect(text).toMatch(/packets received: 5000\/s on NICs, 100\/s on loopback/);
    expect(text).toMatch(/server pid 500 on CPUs 0,1: ran 500 ms, waited 50 ms for a CPU; used CPU 0 40%, CPU 1 10%/);
    expect(text).toMatch(/server threads using CPU/);
    expect(text).toMatch(/│\s+501 │ srs-worker │\s+10 │\s+1 │/);
    expect(text).toMatch(/other busy processes/);
    expect(text).toMatch(/│\s+700 │ ffmpeg\s+│\s+50 │ 0,1\s+│/);
  });
});

describe('table cells', () => {
  it('render objects as key=value and lists with spaces, never JSON', () => {
    expect(cellText({ nic: 5, lo: 1.234 })).toBe('nic=5 lo=1.23');
    expect(cellText([1, 2, 3])).toBe('1 2 3');
    expect(cellText([{ a: 1 }, { a: 2 }])).toBe('a=1 a=2');
    expect(cellText({ inner: { x: [1, 2] } })).toBe('inner=x=1 2');
    expect(cellText(null)).toBe('-');
    expect(cellText(7)).toBe(7);
  });
});
