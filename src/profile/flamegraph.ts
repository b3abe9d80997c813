import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlameNode } from './stacks.js';

/** A file of an installed package, found the way Node finds packages (node_modules upwards). */
function asset(pkg: string, file: string): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', pkg, file);
    if (existsSync(candidate)) return readFileSync(candidate, 'utf8');
    if (path.dirname(dir) === dir) throw new Error(`${pkg}/${file} is not installed (npm install)`);
  }
}

/**
 * A self-contained HTML flame graph (d3-flame-graph and d3 inlined, no network needed):
 * open it in a browser, click to zoom, search with the box.
 */
export function flameGraphHtml(tree: FlameNode, title: string): string {
  const esc = (s: string) => s.replace(/</g, '\\u003c');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${title.replace(/</g, '&lt;')}</title>
<style>${asset('d3-flame-graph', 'dist/d3-flamegraph.css')}
body{font-family:sans-serif;margin:16px} #chart{width:100%}</style>
</head><body>
<h3>${title.replace(/</g, '&lt;')}</h3>
<input id="term" placeholder="search"> <button onclick="chart.search(document.getElementById('term').value)">search</button>
<button onclick="chart.resetZoom()">reset zoom</button>
<div id="chart"></div>
<script>${asset('d3', 'dist/d3.min.js')}</script>
<script>${asset('d3-flame-graph', 'dist/d3-flamegraph.min.js')}</script>
<script>${asset('d3-flame-graph', 'dist/d3-flamegraph-tooltip.min.js')}</script>
<script>
const data = ${esc(JSON.stringify(tree))};
const chart = flamegraph().width(Math.max(960, window.innerWidth - 40)).cellHeight(18).minFrameSize(1)
  .tooltip(flamegraph.tooltip.defaultFlamegraphTooltip().html(d => d.data.name + ': ' + d.data.value + ' samples'));
d3.select('#chart').datum(data).call(chart);
</script>
</body></html>
`;
}
