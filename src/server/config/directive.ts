/**
 * The parsed config tree: SRS's `SrsConfDirective` shape (name, args, children) plus where each
 * directive came from, so every warning and error can name file:line:column.
 */

export interface SourcePos {
  file: string; // as given (relative to cwd for includes, like SRS), used in messages
  line: number; // 1-based
  column: number; // 1-based
}

export interface Directive {
  name: string;
  args: string[];
  children: Directive[];
  /** true when written as a block `name args { ... }` (even an empty one) */
  block: boolean;
  pos: SourcePos;
}

export function at(pos: SourcePos): string {
  return `${pos.file}:${pos.line}`;
}

export function atCol(pos: SourcePos): string {
  return `${pos.file}:${pos.line}:${pos.column}`;
}

/** The first child named `name` (SRS's `get()`: duplicates are kept, the first one wins). */
export function child(d: Directive | undefined, name: string): Directive | undefined {
  if (!d) return undefined;
  for (const c of d.children) if (c.name === name) return c;
  return undefined;
}

export function children(d: Directive | undefined, name: string): Directive[] {
  return d ? d.children.filter((c) => c.name === name) : [];
}

export function arg0(d: Directive | undefined): string {
  return d?.args[0] ?? '';
}

/** A synthetic directive created by a rewrite (old flat forms); it keeps the position of what it replaces. */
export function makeDirective(name: string, args: string[], pos: SourcePos, kids: Directive[] = []): Directive {
  return { name, args, children: kids, block: kids.length > 0, pos };
}

/** SRS's get_or_create(name): the first child with that name, or a new one appended. */
export function getOrCreate(parent: Directive, name: string, pos: SourcePos): Directive {
  const found = child(parent, name);
  if (found) return found;
  const d = makeDirective(name, [], pos);
  parent.children.push(d);
  parent.block = true;
  return d;
}
