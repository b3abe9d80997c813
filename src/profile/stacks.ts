/**
 * Call stacks from `perf script` text, folded and summed: the data behind the top-functions
 * table and the flame graph. Pure functions.
 */
export interface FoldedStacks {
  /** 'root;caller;callee' (outermost first) → samples */
  stacks: Map<string, number>;
  samples: number;
}

/** A frame's name: the symbol without offset; JIT code named from the perf map keeps its JS name. */
export function frameName(line: string): string | undefined {
  // "    7f27...  LazyCompile:*hotLoop /app/x.js:3+0x12 (/tmp/perf-123.map)"
  const m = /^\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
  if (!m) return undefined;
  let sym = m[1]!.replace(/\+0x[0-9a-f]+$/, '');
  if (sym === '[unknown]') sym = `[unknown] ${m[2]!.replace(/^.*\//, '')}`;
  return sym.replace(/;/g, ':');
}

export function parsePerfScript(text: string): FoldedStacks {
  const stacks = new Map<string, number>();
  let samples = 0;
  let frames: string[] = [];
  const flush = () => {
    if (frames.length > 0) {
      const key = frames.reverse().join(';');
      stacks.set(key, (stacks.get(key) ?? 0) + 1);
      samples++;
    }
    frames = [];
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (!/^\s/.test(line)) {
      flush(); // a sample's header line: comm pid time event
      continue;
    }
    const f = frameName(line);
    if (f) frames.push(f);
  }
  flush();
  return { stacks, samples };
}

export interface TopFunction {
  name: string;
  self: number; // samples where it is the leaf
  total: number; // samples where it is anywhere on the stack
  selfPercent: number;
  totalPercent: number;
}

export function topFunctions(f: FoldedStacks, limit = 20): TopFunction[] {
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const [key, n] of f.stacks) {
    const frames = key.split(';');
    const leaf = frames[frames.length - 1]!;
    self.set(leaf, (self.get(leaf) ?? 0) + n);
    for (const fr of new Set(frames)) total.set(fr, (total.get(fr) ?? 0) + n);
  }
  const pct = (n: number) => (f.samples ? Math.round((n / f.samples) * 1000) / 10 : 0);
  return [...total.keys()]
    .map((name) => ({ name, self: self.get(name) ?? 0, total: total.get(name)!, selfPercent: pct(self.get(name) ?? 0), totalPercent: pct(total.get(name)!) }))
    .sort((a, b) => b.self - a.self || b.total - a.total)
    .slice(0, limit);
}

/** Brendan Gregg's folded format, one 'a;b;c N' line per stack. */
export function foldedText(f: FoldedStacks): string {
  return [...f.stacks].map(([k, n]) => `${k} ${n}`).join('\n') + '\n';
}

export interface FlameNode {
  name: string;
  value: number;
  children: FlameNode[];
}

/** The tree d3-flame-graph draws. */
export function flameTree(f: FoldedStacks, rootName = 'all'): FlameNode {
  const root: FlameNode = { name: rootName, value: 0, children: [] };
  for (const [key, n] of f.stacks) {
    root.value += n;
    let node = root;
    for (const fr of key.split(';')) {
      let child = node.children.find((c) => c.name === fr);
      if (!child) {
        child = { name: fr, value: 0, children: [] };
        node.children.push(child);
      }
      child.value += n;
      node = child;
    }
  }
  return root;
}
