import { HostWriteError } from '../host/sysctl.js';
import { UserError } from '../errors.js';
import type { ItemResult, PlannedItem, TuneItem } from './item.js';

/** Reads every item's current value: the plan (and what --dry-run prints). */
export async function planItems(items: readonly TuneItem[]): Promise<PlannedItem[]> {
  const out: PlannedItem[] = [];
  for (const it of items) {
    const current = await it.read();
    out.push({ id: it.id, setting: it.setting, current, target: it.target, reason: it.reason, change: !it.matches(current) });
  }
  return out;
}

export function describeError(err: unknown): { error: string; hint?: string } {
  if (err instanceof HostWriteError || err instanceof UserError) return { error: err.message, hint: err.hint };
  return { error: (err as Error).message ?? String(err) };
}

export interface ApplyResult {
  ok: boolean;
  /** the apply failed and so did undoing at least one setting: those are still changed (in `changed`) */
  rollbackFailed: boolean;
  results: ItemResult[];
  /**
   * what is changed on the host now and must be remembered for revert (id → previous value): every
   * changed item after a successful apply; after a failed one, the items whose rollback failed
   */
  changed: Array<{ id: string; previous: string }>;
}

/**
 * Applies the items that need a change, in order. All or nothing: when one fails, the ones
 * already applied are undone in reverse order, and every item reports its outcome; an undo that
 * fails too is reported as 'rollback failed' and returned in `changed` (the caller keeps it for revert).
 * `beforeApply` runs once before the first write (the caller saves revert state there).
 */
export async function applyAll(items: readonly TuneItem[], plan: readonly PlannedItem[], beforeApply: (changes: Array<{ id: string; previous: string }>) => Promise<void>): Promise<ApplyResult> {
  const results: ItemResult[] = plan.map((p) => ({ ...p, outcome: p.change ? 'not run' : 'unchanged' }));
  const toChange = plan.map((p, i) => ({ p, i })).filter(({ p }) => p.change);
  const changes = toChange.map(({ p }) => ({ id: p.id, previous: p.current ?? '' }));
  if (toChange.length === 0) return { ok: true, rollbackFailed: false, results, changed: [] };
  await beforeApply(changes);
  const done: number[] = [];
  for (const { i } of toChange) {
    try {
      await items[i]!.apply();
      results[i]!.outcome = 'applied';
      done.push(i);
    } catch (err) {
      Object.assign(results[i]!, { outcome: 'failed' }, describeError(err));
      const stuck: Array<{ id: string; previous: string }> = [];
      for (const j of done.reverse()) {
        try {
          await items[j]!.undo(plan[j]!.current ?? '');
          results[j]!.outcome = 'rolled back';
        } catch (undoErr) {
          const d = describeError(undoErr);
          Object.assign(results[j]!, { outcome: 'rollback failed', error: `still ${plan[j]!.target}: ${d.error}`, hint: d.hint });
          stuck.unshift({ id: plan[j]!.id, previous: plan[j]!.current ?? '' });
        }
      }
      return { ok: false, rollbackFailed: stuck.length > 0, results, changed: stuck };
    }
  }
  return { ok: true, rollbackFailed: false, results, changed: changes };
}

/** One saved change to put back; `gone` says why it cannot be (its process has exited). */
export interface RevertEntry {
  item: TuneItem;
  gone?: string;
}

/**
 * Puts every entry back to its saved value (the item's target), newest change first as given.
 * Not all or nothing: each setting that can be restored is; one that fails is reported and
 * returned in `remaining` (kept for the next revert); a process that is gone is skipped.
 */
export async function revertAll(entries: readonly RevertEntry[]): Promise<{ ok: boolean; results: ItemResult[]; remaining: string[] }> {
  const results: ItemResult[] = [];
  const remaining: string[] = [];
  for (const { item, gone } of entries) {
    const base = { id: item.id, setting: item.setting, target: item.target, reason: item.reason };
    if (gone) {
      results.push({ ...base, current: undefined, change: false, outcome: 'skipped', error: gone });
      continue;
    }
    let current: string | undefined;
    try {
      current = await item.read();
      if (item.matches(current)) {
        results.push({ ...base, current, change: false, outcome: 'unchanged' });
        continue;
      }
      await item.apply();
      results.push({ ...base, current, change: true, outcome: 'reverted' });
    } catch (err) {
      results.push({ ...base, current, change: true, outcome: 'failed', ...describeError(err) });
      remaining.push(item.id);
    }
  }
  return { ok: remaining.length === 0, results, remaining };
}
