/**
 * Heap snapshot (.heapsnapshot) summaries by constructor, and the diff of two: which kinds of
 * objects grew. The Node counterpart of gperftools' heap checker in SRS's guide.
 */
interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface ConstructorStats {
  name: string;
  count: number;
  selfBytes: number;
}

const COUNTED = new Set(['object', 'closure', 'array', 'string', 'regexp', 'number', 'native', 'concatenated string', 'sliced string', 'bigint']);

export function summariseSnapshot(json: string): Map<string, ConstructorStats> {
  const s = JSON.parse(json) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const stride = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map<string, ConstructorStats>();
  for (let i = 0; i < s.nodes.length; i += stride) {
    const type = types[s.nodes[i + iType]!]!;
    if (!COUNTED.has(type)) continue;
    const name = type === 'object' || type === 'closure' || type === 'native' ? s.strings[s.nodes[i + iName]!]! : `(${type})`;
    const e = out.get(name) ?? { name, count: 0, selfBytes: 0 };
    e.count++;
    e.selfBytes += s.nodes[i + iSize]!;
    out.set(name, e);
  }
  return out;
}

export interface HeapGrowth {
  name: string;
  countBefore: number;
  countAfter: number;
  countDelta: number;
  bytesDelta: number;
}

export function diffSnapshots(before: Map<string, ConstructorStats>, after: Map<string, ConstructorStats>, limit = 20): HeapGrowth[] {
  const rows: HeapGrowth[] = [];
  for (const [name, a] of after) {
    const b = before.get(name);
    rows.push({ name, countBefore: b?.count ?? 0, countAfter: a.count, countDelta: a.count - (b?.count ?? 0), bytesDelta: a.selfBytes - (b?.selfBytes ?? 0) });
  }
  return rows.filter((r) => r.countDelta > 0 || r.bytesDelta > 0).sort((x, y) => y.bytesDelta - x.bytesDelta).slice(0, limit);
}
