import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { CompareRow } from './compare.js';

/**
 * Server CPU and memory against players, side by side, one colour per server, as SVG (vega-lite,
 * rendered headless): lines over the player counts, or grouped bars when the run had one count.
 */
export function compareChartSpec(rows: readonly CompareRow[], title: string): TopLevelSpec {
  const values = rows.map((r) => ({
    server: r.server,
    players: r.clients,
    cpu: Math.round(r.serverCpu * 10) / 10,
    mem: Math.round(r.serverRssMB * 10) / 10,
  }));
  const oneCount = new Set(rows.map((r) => r.clients)).size === 1;
  const panel = (field: 'cpu' | 'mem', axis: string) =>
    oneCount
      ? {
          title: axis,
          width: 240,
          height: 260,
          mark: { type: 'bar' as const },
          encoding: {
            x: { field: 'server', type: 'nominal' as const, title: `server (${rows[0]?.clients ?? 0} players)` },
            y: { field, type: 'quantitative' as const, title: axis },
            color: { field: 'server', type: 'nominal' as const, title: 'server' },
          },
        }
      : {
          title: axis,
          width: 300,
          height: 260,
          mark: { type: 'line' as const, point: true },
          encoding: {
            x: { field: 'players', type: 'quantitative' as const, title: 'players' },
            y: { field, type: 'quantitative' as const, title: axis },
            color: { field: 'server', type: 'nominal' as const, title: 'server' },
          },
        };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values },
    hconcat: [panel('cpu', 'server CPU (% of one core)'), panel('mem', 'server RSS (MB)')],
  };
}

export async function compareChartSvg(rows: readonly CompareRow[], title: string): Promise<string> {
  const view = new vega.View(vega.parse(compile(compareChartSpec(rows, title)).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
