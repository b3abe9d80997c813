import { Command } from 'commander';
import chalk from 'chalk';
import { ExitCode } from '../errors.js';
import { hostRoot } from '../host/root.js';
import { applyAll, planItems, revertAll, type RevertEntry } from '../tune/apply.js';
import { readProcessStart } from '../host/process.js';
import type { ItemResult, PlannedItem, TuneItem } from '../tune/item.js';
import { DEFAULT_PERSIST_FILE, persistSysctls, systemdLines, unpersist } from '../tune/persist.js';
import { listProfiles } from '../tune/profiles.js';
import { buildRequest, type TuneFlags } from '../tune/request.js';
import { clearState, loadState, mergeState, restoreState, saveState, stateFile, type StateChange } from '../tune/state.js';
import { cpusItem, irqItem, niceItem, nofileItem, sysctlItem } from '../tune/items.js';
import { printJson, renderTable, type Column } from '../report/render.js';

const PLAN_COLUMNS: Column<PlannedItem>[] = [
  { header: 'setting', value: (r) => r.setting },
  { header: 'current', value: (r) => r.current ?? '(missing)' },
  { header: 'target', value: (r) => r.target },
  { header: 'change', value: (r) => (r.change ? chalk.yellow('yes') : chalk.green('no')) },
  { header: 'why', value: (r) => r.reason },
];

const RESULT_COLUMNS: Column<ItemResult>[] = [
  { header: 'setting', value: (r) => r.setting },
  { header: 'before', value: (r) => r.current ?? '(missing)' },
  { header: 'target', value: (r) => r.target },
  { header: 'outcome', value: (r) => (r.outcome === 'failed' || r.outcome === 'rollback failed' ? chalk.red(r.outcome) : r.outcome === 'applied' || r.outcome === 'reverted' ? chalk.green(r.outcome) : r.outcome) },
  { header: 'error', value: (r) => (r.error ? `${r.error}${r.hint ? ` (${r.hint})` : ''}` : '') },
];

function addTuneFlags(cmd: Command): Command {
  return cmd
    .option('--udp <size>', 'UDP socket buffers: net.core.{r,w}mem_{max,default} (16M, 16MiB, 512K or bytes)')
    .option('--profile <name|path>', 'a tuning profile: rtc, live, low-latency (srsx tune profiles) or a YAML file')
    .option('--irq-cpus <list>', 'pin NIC queue IRQs to these CPUs (smp_affinity_list)')
    .option('--nic <name>', 'only this NIC\'s IRQs (default: every NIC)')
    .option('--softirq-cpu <n>', 'the guide\'s recipe: NIC IRQs on CPU n, the server on every other CPU')
    .option('--pid <pid>', 'the server process for --cpus/--nice/--nofile')
    .option('--pidfile <file>', 'read the pid from this file (default: ./objs/srs.pid, else the process listening on 1935, else the one `srsx serve`/`srs`)')
    .option('--cpus <list>', 'CPU affinity of every thread (as taskset -a -p)')
    .option('--nice <n>', 'priority of every thread, -20..19 (as renice)')
    .option('--nofile <n>', 'open-files limit of the running process (as prlimit)')
    .option('--json', 'machine-readable output');
}

function flagsOf(o: Record<string, string | boolean | undefined>): TuneFlags {
  const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  return { udp: s('udp'), profile: s('profile'), irqCpus: s('irqCpus'), nic: s('nic'), softirqCpu: s('softirqCpu'), pid: s('pid'), pidfile: s('pidfile'), cpus: s('cpus'), nice: s('nice'), nofile: s('nofile') };
}

/** Rebuilds the item that changed `id` so revert can undo it. */
function itemForRevert(id: string, target: string): TuneItem | undefined {
  const root = hostRoot();
  let m: RegExpExecArray | null;
  if ((m = /^sysctl:(.+)$/.exec(id))) return sysctlItem(root, m[1]!, target, 'revert', false);
  if ((m = /^irq:(\d+)$/.exec(id))) return irqItem(root, Number(m[1]), 'irq', target, 'revert', false);
  if ((m = /^pid:(\d+):cpus$/.exec(id))) return cpusItem(root, Number(m[1]), target, 'revert');
  if ((m = /^pid:(\d+):nice$/.exec(id))) return niceItem(root, Number(m[1]), Number(target), 'revert');
  if ((m = /^pid:(\d+):nofile$/.exec(id))) {
    // back to exactly soft:hard as they were (apply would keep a raised hard limit)
    const it = nofileItem(root, Number(m[1]), Number(target.split(':')[0]), 'revert');
    return { ...it, target, matches: (current: string | undefined) => current === target, apply: () => it.undo(target) };
  }
  return undefined;
}

export function registerTune(program: Command): void {
  const tune = addTuneFlags(
    program
      .command('tune')
      .description('Apply, persist, verify and revert host tuning (UDP buffers, IRQ affinity, process CPU/nice/fd limits)'),
  )
    .enablePositionalOptions()
    .option('--dry-run', 'show the plan (setting, current, target, why) and change nothing')
    .option('--persist', `also write the sysctls to ${DEFAULT_PERSIST_FILE} (and print systemd lines for process settings)`)
    .option('--persist-file <path>', 'persist into this file instead (e.g. /etc/sysctl.conf: only srsx\'s keys change)')
    .addHelpText('after', `
All or nothing: if one write fails, what was written is undone and every item's outcome is shown
(an undo that fails too is reported as 'rollback failed' and kept for revert).
The previous values are saved first ($SRSX_STATE_DIR or /var/lib/srsx); later applies keep the first
one's originals, so 'srsx tune revert' puts the host back as it was, --persist files included.

Examples:
  srsx tune --udp 16M --dry-run            what would change (nothing is written)
  srsx tune --udp 16M                      the guide's 16 MB UDP buffers
  srsx tune --profile rtc --persist        and keep them across reboots
  srsx tune --softirq-cpu 0 --pid 1234     NIC IRQs on CPU 0, the server on the others
  srsx tune --cpus 1 --nice -10 --nofile 100000 --pidfile ./objs/srs.pid
  srsx tune check --profile rtc            exit 0 when the host matches (for monitoring)
  srsx tune revert                         put back what the applies changed, and undo --persist
  srsx tune profiles                       what each profile sets and why`)
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const req = await buildRequest(hostRoot(), flagsOf(opts));
      const plan = await planItems(req.items);
      const persistFile = typeof opts.persistFile === 'string' ? opts.persistFile : opts.persist ? DEFAULT_PERSIST_FILE : undefined;
      const unitLines = req.process ? systemdLines(req.process) : [];
      if (opts.dryRun) {
        if (opts.json) printJson({ dryRun: true, plan, notes: req.notes, persistFile, systemd: unitLines });
        else {
          process.stdout.write(renderTable(plan, PLAN_COLUMNS, 'plan (dry run: nothing changed)') + '\n');
          for (const n of req.notes) process.stdout.write(`note: ${n}\n`);
          if (persistFile) process.stdout.write(`would persist sysctls to ${persistFile}\n`);
        }
        return;
      }
      const command = `srsx ${process.argv.slice(2).join(' ')}`;
      const root = hostRoot();
      const before = loadState();
      const stateChanges = async (changes: Array<{ id: string; previous: string }>): Promise<StateChange[]> => {
        const out: StateChange[] = [];
        for (const c of changes) {
          const p = plan.find((x) => x.id === c.id)!;
          const pid = /^pid:(\d+):/.exec(c.id)?.[1];
          out.push({ id: c.id, setting: p.setting, previous: c.previous, target: p.target, ...(pid ? { processStart: await readProcessStart(root, Number(pid)) } : {}) });
        }
        return out;
      };
      // the state is saved before the first write; a second apply keeps the first one's original values
      const result = await applyAll(req.items, plan, async (changes) => saveState(mergeState(before, command, await stateChanges(changes))));
      if (!result.ok) {
        // rolled back: the state is what it was before this apply, plus whatever could not be undone
        if (result.rollbackFailed) saveState(mergeState(before, command, await stateChanges(result.changed)));
        else if (result.results.some((r) => r.outcome !== 'unchanged')) restoreState(before);
      }
      let persisted: { file: string; backup?: string; created: boolean } | undefined;
      if (result.ok && persistFile) {
        const entries = req.items.filter((i) => i.sysctlKey).map((i) => ({ key: i.sysctlKey!, value: i.target }));
        if (entries.length) {
          const state = loadState() ?? mergeState(undefined, command, []);
          const earlier = state.persisted?.find((p) => p.file === persistFile);
          persisted = persistSysctls(entries, persistFile, earlier);
          if (!earlier) saveState({ ...state, persisted: [...(state.persisted ?? []), { file: persisted.file, ...(persisted.backup ? { backup: persisted.backup } : {}) }] });
        }
      }
      const title = result.ok
        ? 'applied'
        : result.rollbackFailed
          ? `FAILED, and the rollback failed: ${result.changed.length} setting(s) still changed (kept for: srsx tune revert)`
          : 'FAILED: nothing was left changed';
      if (opts.json) printJson({ ok: result.ok, rollbackFailed: result.rollbackFailed, stillChanged: result.ok ? [] : result.changed.map((c) => c.id), results: result.results, notes: req.notes, persisted, systemd: unitLines, stateFile: stateFile() });
      else {
        process.stdout.write(renderTable(result.results, RESULT_COLUMNS, title) + '\n');
        for (const n of req.notes) process.stdout.write(`note: ${n}\n`);
        if (persisted) process.stdout.write(`persisted to ${persisted.file}${persisted.backup ? ` (the file as it was is kept as ${persisted.backup})` : ''}; srsx tune revert undoes it\n`);
        if (result.ok && unitLines.length) process.stdout.write(`to make the process settings permanent, add to the server's systemd unit [Service]:\n  ${unitLines.join('\n  ')}\n`);
        if ((result.ok && (result.changed.length || persisted)) || result.rollbackFailed) process.stdout.write(`undo with: srsx tune revert   (state in ${stateFile()})\n`);
      }
      if (!result.ok) process.exitCode = ExitCode.failed;
    });

  addTuneFlags(tune.command('check').description('Exit 0 when the host matches the settings (or a profile), 1 with the differences'))
    .addHelpText('after', `
Reads only: nothing is written. Exit code: 0 the host matches, 1 some setting differs (each shown
with its current and target value), 2 bad flags or profile.

Examples:
  srsx tune check --profile rtc                  does the host have the RTC profile's buffers?
  srsx tune check --udp 16M --json               the same for explicit buffers, for monitoring
  srsx tune check --cpus 1 --nice -10 --pid 1234 is the server pinned and prioritised?`)
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const req = await buildRequest(hostRoot(), flagsOf(opts));
      const plan = await planItems(req.items);
      const diffs = plan.filter((p) => p.change);
      if (opts.json) printJson({ ok: diffs.length === 0, differences: diffs, checked: plan, notes: req.notes });
      else {
        process.stdout.write(renderTable(plan, PLAN_COLUMNS, diffs.length ? `${diffs.length} setting(s) differ` : 'host matches') + '\n');
        for (const n of req.notes) process.stdout.write(`note: ${n}\n`);
      }
      if (diffs.length) process.exitCode = ExitCode.mismatch;
    });

  tune
    .command('revert')
    .description('Restore what `srsx tune` changed since the last revert (sysctls, IRQs, process settings, --persist files)')
    .option('--dry-run', 'show what would be restored')
    .option('--json', 'machine-readable output')
    .addHelpText('after', `
The values to restore come from the state the applies saved ($SRSX_STATE_DIR or /var/lib/srsx).
A process that has exited, or whose pid now belongs to another program, is skipped.
Exit code: 0 restored (or nothing to do), 3 something could not be restored (kept for a retry).

Examples:
  srsx tune revert --dry-run     what would be restored, and which --persist files
  srsx tune revert               put the host back as it was before srsx tune`)
    .action(async (opts: { dryRun?: boolean; json?: boolean }) => {
      const state = loadState();
      if (!state) {
        if (opts.json) printJson({ ok: true, reverted: [], note: 'nothing to revert' });
        else process.stdout.write(`nothing to revert (no state in ${stateFile()})\n`);
        return;
      }
      const root = hostRoot();
      const entries: RevertEntry[] = [];
      for (const c of [...state.changes].reverse()) {
        const it = itemForRevert(c.id, c.previous);
        if (!it) continue;
        Object.assign(it, { setting: c.setting });
        const pid = /^pid:(\d+):/.exec(c.id)?.[1];
        let gone: string | undefined;
        if (pid !== undefined) {
          const start = await readProcessStart(root, Number(pid));
          if (start === undefined) gone = `process ${pid} has exited: nothing to restore`;
          else if (c.processStart !== undefined && start !== c.processStart) gone = `pid ${pid} is now another process: not touched`;
        }
        entries.push({ item: it, gone });
      }
      const persisted = state.persisted ?? [];
      const commands = (state.commands ?? [state.command]).map((c) => `'${c}'`).join(', then ');
      if (opts.dryRun) {
        const plan = await planItems(entries.filter((e) => !e.gone).map((e) => e.item));
        if (opts.json) printJson({ dryRun: true, plan, skipped: entries.filter((e) => e.gone).map((e) => ({ id: e.item.id, reason: e.gone })), persisted, appliedAt: state.appliedAt, command: state.command, commands: state.commands });
        else {
          process.stdout.write(renderTable(plan, PLAN_COLUMNS, `would restore what ${commands} changed since ${state.appliedAt}`) + '\n');
          for (const e of entries.filter((x) => x.gone)) process.stdout.write(`would skip ${e.item.setting}: ${e.gone}\n`);
          for (const p of persisted) process.stdout.write(p.backup ? `would restore ${p.file} from ${p.backup}\n` : `would remove ${p.file}\n`);
        }
        return;
      }
      const result = await revertAll(entries);
      const unpersisted: Array<{ file: string; ok: boolean; done?: string; error?: string }> = [];
      const persistLeft = persisted.filter((p) => {
        try {
          unpersisted.push({ file: p.file, ok: true, done: unpersist(p) });
          return false;
        } catch (err) {
          unpersisted.push({ file: p.file, ok: false, error: (err as Error).message });
          return true;
        }
      });
      const ok = result.ok && persistLeft.length === 0;
      if (ok) clearState();
      else saveState({ ...state, changes: state.changes.filter((c) => result.remaining.includes(c.id)), persisted: persistLeft });
      const skipped = result.results.filter((r) => r.outcome === 'skipped');
      if (opts.json) printJson({ ok, results: result.results, persist: unpersisted, command: state.command, commands: state.commands });
      else {
        process.stdout.write(renderTable(result.results, RESULT_COLUMNS, ok ? `reverted what ${commands} changed` : `FAILED to revert ${result.remaining.length + persistLeft.length} thing(s): kept in ${stateFile()}; fix the cause and run srsx tune revert again`) + '\n');
        for (const s of skipped) process.stdout.write(`skipped ${s.setting}: ${s.error}\n`);
        for (const u of unpersisted) process.stdout.write(u.ok ? `persist: ${u.done}\n` : `persist: ${u.error}\n`);
      }
      if (!ok) process.exitCode = ExitCode.failed;
    });

  tune
    .command('profiles')
    .description('List the tuning profiles with what each sets and why')
    .option('--json', 'machine-readable output')
    .addHelpText('after', `
A profile is a YAML file (profiles/*.yaml); srsx tune --profile also takes a path to your own.

Examples:
  srsx tune profiles                         every profile, its settings and why
  srsx tune profiles --json                  the same as data
  srsx tune --profile ./my.yaml --dry-run    check your own profile without changing anything`)
    .action((opts: { json?: boolean }) => {
      const profiles = listProfiles();
      if (opts.json) return printJson(profiles);
      for (const p of profiles) {
        const rows = [
          ...Object.entries(p.sysctl).map(([k, v]) => ({ setting: k, value: v.value, why: v.reason })),
          ...(p.process.nice !== undefined ? [{ setting: 'process nice', value: String(p.process.nice), why: p.process.reason ?? '' }] : []),
          ...(p.process.nofile !== undefined ? [{ setting: 'process nofile', value: String(p.process.nofile), why: p.process.reason ?? '' }] : []),
        ];
        process.stdout.write(renderTable(rows, [
          { header: 'setting', value: (r) => r.setting },
          { header: 'value', value: (r) => r.value },
          { header: 'why', value: (r) => r.why },
        ], `${p.name}: ${p.description}`) + '\n\n');
      }
    });
}
