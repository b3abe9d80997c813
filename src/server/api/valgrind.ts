/**
 * GET /api/v1/valgrind?check=full|quick|added|changed|new — SRS's incremental leak check
 * (SrsGoApiValgrind), through the native addon's valgrind client requests. As SRS, an unknown
 * `check` becomes `full`. Unlike SRS the check runs before the answer (it blocks the event loop
 * for as long as valgrind scans, which is what one asks for here) so the answer carries
 * VALGRIND_COUNT_LEAKS and the change since the previous check; valgrind writes the details
 * (stacks of what leaked) to its own log. Valgrind 3.19 has no "new" check: "added" runs instead,
 * and the answer says so. Without the addon the answer names why and how to build it.
 */
import { LEAK_CHECKS, type AddonState, type LeakCheckKind, type LeakCounts } from '../../native/addon.js';

/** srsx's own code for "the native addon is not available" (SRS has no such case). */
export const NATIVE_UNAVAILABLE_CODE = 5001;

const HELP = '?check=full|added|changed|new|quick';
const SEE = 'https://valgrind.org/docs/manual/mc-manual.html#mc-manual.clientreqs';

export type ValgrindAnswer = { code: number; data: Record<string, unknown> };

export class ValgrindApi {
  private previous: LeakCounts | undefined;

  constructor(private readonly load: () => AddonState) {}

  check(requested: string | undefined): ValgrindAnswer {
    const state = this.load();
    const check: LeakCheckKind = (LEAK_CHECKS as readonly string[]).includes(requested ?? '') ? (requested as LeakCheckKind) : 'full';
    if (!state.ok) return { code: NATIVE_UNAVAILABLE_CODE, data: { check, help: HELP, available: false, reason: state.reason, fix: state.fix } };
    const running = state.addon.runningOnValgrind() > 0;
    const counts = state.addon.leakCheck(check);
    const data: Record<string, unknown> = { check, help: HELP, see: SEE, call: counts.call, valgrind: running };
    if (!running) {
      data.note = 'not running under valgrind: the check did nothing; start the server with `srsx profile --valgrind -- serve -c <conf>`';
      return { code: 0, data };
    }
    if (check === 'new' && !state.addon.features().newLeakCheck) data.note = 'this valgrind has no "new" leak check (3.21+): ran "added" instead';
    const { call: _call, ...bytes } = counts;
    data.bytes = bytes;
    if (this.previous) {
      data.delta = {
        leaked: counts.leaked - this.previous.leaked,
        dubious: counts.dubious - this.previous.dubious,
        reachable: counts.reachable - this.previous.reachable,
        suppressed: counts.suppressed - this.previous.suppressed,
      };
    }
    this.previous = counts;
    return { code: 0, data };
  }
}
