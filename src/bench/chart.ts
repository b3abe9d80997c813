import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { CompareRow } from './compare.js';

/** Server CPU % against players, one line per server, as SVG (vega-lite, rendered headless). */
export async function cpuChartSvg(rows: readonly CompareRow[], title: string): Promise<string> {
  const spec = compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520,
    height: 300,
    data: { values: rows.map((r) => ({ server: r.server, players: r.clients, cpu: Math.round(r.serverCpu * 10) / 10 })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'players', type: 'quantitative', title: 'players' },
      y: { field: 'cpu', type: 'quantitative', title: 'server CPU (% of one core)' },
      color: { field: 'server', type: 'nominal', title: 'server' },
    },
  }).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
