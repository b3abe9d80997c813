// `srsx bench compare --markdown` rewrites its report (npm run bench: docs/benchmarks.md); hand-written notes after
// the marker line survive, so measurements recorded there by hand are not lost on the next run.
import { KEPT_NOTES_MARKER, withKeptNotes } from '../../src/bench/compare-report.js';

describe('bench compare report: kept notes', () => {
  it('keeps everything from the marker on, after the new report', () => {
    const old = `# Benchmarks\nold table\n\n${KEPT_NOTES_MARKER}\n\n## time_jitter\nbefore/after\n`;
    expect(withKeptNotes('# Benchmarks\nnew table\n', old)).toBe(`# Benchmarks\nnew table\n\n${KEPT_NOTES_MARKER}\n\n## time_jitter\nbefore/after\n`);
  });

  it('writes the report alone when there is no previous file or no marker', () => {
    expect(withKeptNotes('# new\n', undefined)).toBe('# new\n');
    expect(withKeptNotes('# new\n', '# old\nnotes without a marker\n')).toBe('# new\n');
  });
});
