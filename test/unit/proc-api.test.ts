// The /proc parsers behind /api/v1/self_proc_stats, system_proc_stats and meminfos
// (fixtures: this VM's /proc/meminfo and /proc/stat cpu line, a /proc/PID/stat with a comm holding ') ').
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseMeminfo, parseSelfStat, parseSystemCpu, SELF_STAT_FIELDS } from '../../src/host/proc-api.js';
import { REPO } from '../helpers/env.js';

const fixture = (name: string) => readFileSync(path.join(REPO, 'test/fixtures/proc-api', name), 'utf8');

describe('proc-api parsers', () => {
  it('/proc/PID/stat: every field SRS reports, the comm up to the last parenthesis', () => {
    const s = parseSelfStat(fixture('self-stat'));
    expect(Object.keys(s)).toEqual([...SELF_STAT_FIELDS]);
    expect(s).toMatchObject({ pid: 12345, comm: 'node (srsx) x', state: 'S', ppid: 1, utime: 250, stime: 75, num_threads: 11, rss: 30000, processor: 1 });
    expect(() => parseSelfStat('garbage')).toThrow();
  });

  it('/proc/stat cpu line and /proc/meminfo with SRS derived values', () => {
    const c = parseSystemCpu(fixture('stat'));
    expect(c.user + c.sys + c.idle).toBeGreaterThan(0);
    const m = parseMeminfo(fixture('meminfo'));
    expect(m.MemTotal).toBeGreaterThan(0);
    expect(m.MemActive).toBe(m.MemTotal - m.MemFree);
    expect(m.RealInUse).toBe(m.MemActive - m.Buffers - m.Cached);
    expect(m.NotInUse).toBe(m.MemTotal - m.RealInUse);
    expect(m.percent_ram).toBeCloseTo(m.RealInUse / m.MemTotal, 6);
    expect(parseMeminfo('MemTotal: 100 kB\nMemFree: 40 kB\nBuffers: 10 kB\nCached: 20 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n')).toMatchObject({ MemActive: 60, RealInUse: 30, NotInUse: 70, percent_ram: 0.3, percent_swap: 0 });
  });
});
