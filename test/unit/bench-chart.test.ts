// bench compare's chart: CPU and memory side by side; bars for one player count, lines for several.
import { compareChartSvg } from '../../src/bench/chart.js';
import type { CompareRow } from '../../src/bench/compare.js';

function row(server: string, clients: number, cpu: number, mem: number): CompareRow {
  return { server, clients, serverCpu: cpu, serverRssMB: mem, conn: clients, expectedMbps: 1, actualMbps: 1, loadToolCpu: 1, startupP50Ms: 0, lagP95Ms: 0, failed: 0 };
}

describe('compareChartSvg', () => {
  it('one player count: two bar panels (CPU, RSS), one bar per server', async () => {
    const svg = await compareChartSvg([row('srsx', 200, 30.5, 120), row('srs', 200, 20.25, 80)], 'WebRTC players');
    expect(svg).toContain('server CPU (% of one core)');
    expect(svg).toContain('server RSS (MB)');
    expect(svg).toContain('server (200 players)');
    // vega draws each bar as a path in a mark-rect group: 2 servers × 2 panels
    const bars = svg.match(/<path [^>]*aria-roledescription="bar"/g) ?? [];
    expect(bars).toHaveLength(4);
    expect(svg).not.toContain('aria-roledescription="line mark"');
  });

  it('several player counts: a line per server in each panel', async () => {
    const rows = [row('srsx', 50, 10, 90), row('srsx', 100, 20, 95), row('srs', 50, 5, 40), row('srs', 100, 9, 60)];
    const svg = await compareChartSvg(rows, 'RTMP players');
    // 2 servers × 2 panels
    expect(svg.match(/aria-roledescription="line mark"/g)).toHaveLength(4);
    expect(svg).toContain('server RSS (MB)');
  });
});
