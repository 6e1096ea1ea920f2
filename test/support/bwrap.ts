import { closeSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { whyUnavailable } from '../../core/sandbox';

/** How to get the bwrap sandbox level on a Debian/Ubuntu machine. */
export const BWRAP_FIX = 'apt-get install -y bubblewrap, and run the tests as root';

/**
 * Why the `bwrap` sandbox level (root harness + bubblewrap + namespaces) is not available here, or
 * undefined when it is. UPLIFT_TEST_PRETEND_NO_BWRAP=1 pretends bubblewrap is missing, to check
 * what a machine without it sees.
 */
export function bwrapUnavailable(env: Record<string, string | undefined> = process.env): string | undefined {
  if (env.UPLIFT_TEST_PRETEND_NO_BWRAP === '1') return 'bubblewrap not found (pretended: UPLIFT_TEST_PRETEND_NO_BWRAP=1)';
  return whyUnavailable('bwrap');
}

/** What a run without the bwrap level prints, once: one line. */
export function skipNotice(why: string): string {
  return `uplift tests: skipping the tests that need the bwrap sandbox level: ${why}. To run them: ${BWRAP_FIX} (CI sets UPLIFT_REQUIRE_BWRAP=1, which makes this an error).\n`;
}

/**
 * The key of this test run, shared by jest and its workers: the process group (jest's workers are
 * in it) and the start time of its leader (so a recycled group id is a new run).
 */
function runKey(): string {
  const field = (pid: string | number, index: number) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[index - 3];
  };
  try {
    const group = field('self', 5);
    return `${group}-${field(group, 22)}`;
  } catch {
    return String(process.ppid);
  }
}

/** Prints `text` once per test run (per `tag`), however many test files skip. */
export function noticeOnce(tag: string, text: string): void {
  try {
    closeSync(openSync(join(tmpdir(), `uplift-${tag}-skip-${runKey()}`), 'wx'));
  } catch {
    return;
  }
  process.stderr.write(text);
}

/**
 * `describe` for tests that need the bwrap sandbox level. Where it is not available they are
 * skipped, with one line for the whole run saying how to install it; with
 * UPLIFT_REQUIRE_BWRAP=1 (CI) they fail instead.
 */
export function describeWithBwrap(name: string, fn: () => void, env: Record<string, string | undefined> = process.env): void {
  const why = bwrapUnavailable(env);
  if (!why) {
    describe(name, fn);
    return;
  }
  if (env.UPLIFT_REQUIRE_BWRAP === '1') {
    describe(name, () => {
      test('needs the bwrap sandbox level (UPLIFT_REQUIRE_BWRAP=1)', () => {
        throw new Error(`the bwrap sandbox level is not available here: ${why}. Fix: ${BWRAP_FIX}`);
      });
    });
    return;
  }
  noticeOnce('bwrap', skipNotice(why));
  describe.skip(name, fn);
}
