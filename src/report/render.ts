import Table from 'cli-table3';
import chalk from 'chalk';

/**
 * Reports are data first, rendered second: commands build plain objects, then either
 * print them as JSON (`--json`) or as tables for people with these helpers.
 */
export type Verdict = 'ok' | 'warn' | 'critical';

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number | boolean | undefined | null;
  align?: 'left' | 'right';
}

export function renderTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[], title?: string): string {
  const table = new Table({
    head: columns.map((c) => chalk.bold(c.header)),
    colAligns: columns.map((c) => c.align ?? 'left'),
    style: { head: [], border: [] },
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  for (const row of rows) {
    table.push(columns.map((c) => formatCell(c.value(row))));
  }
  const body = rows.length === 0 ? '(none)' : table.toString();
  return title ? `${chalk.bold(title)}\n${body}` : body;
}

/** Two-column key/value table. */
export function renderFacts(facts: Record<string, string | number | boolean | undefined>, title?: string): string {
  const rows = Object.entries(facts).filter(([, v]) => v !== undefined);
  return renderTable(rows, [
    { header: 'item', value: (r) => r[0] },
    { header: 'value', value: (r) => r[1] },
  ], title);
}

export function colourVerdict(v: Verdict): string {
  if (v === 'ok') return chalk.green('ok');
  if (v === 'warn') return chalk.yellow('warn');
  return chalk.red('critical');
}

function formatCell(v: string | number | boolean | undefined | null): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return String(v);
}

export function printJson(data: unknown): void {
  process.stdout.write(JSON.stringify(data, null, 2) + '\n');
}
