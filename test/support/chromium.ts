import { accessSync, constants } from 'node:fs';
import { noticeOnce } from './bwrap';

/** Where Debian's `chromium` package puts the browser. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** How to get a Chromium the browser tests can drive, on a Debian/Ubuntu machine. */
export const CHROMIUM_FIX = `apt-get install -y chromium, or set UPLIFT_CHROMIUM to a Chromium or Chrome executable`;

/**
 * The Chromium executable the browser tests drive: $UPLIFT_CHROMIUM when set, else
 * /usr/bin/chromium. `why` says why there is none usable (UPLIFT_TEST_PRETEND_NO_CHROMIUM=1
 * pretends there is none, to check what a machine without it sees).
 */
export function findChromium(env: Record<string, string | undefined> = process.env): { path: string; why?: string } {
  const asked = env.UPLIFT_CHROMIUM;
  const path = asked || DEFAULT_CHROMIUM;
  if (env.UPLIFT_TEST_PRETEND_NO_CHROMIUM === '1') return { path, why: 'Chromium not found (pretended: UPLIFT_TEST_PRETEND_NO_CHROMIUM=1)' };
  try {
    accessSync(path, constants.X_OK);
    return { path };
  } catch {
    return { path, why: asked ? `UPLIFT_CHROMIUM=${asked} is not an executable file` : `${DEFAULT_CHROMIUM} not found (and UPLIFT_CHROMIUM is not set)` };
  }
}

/** What a run without Chromium prints, once: one line. */
export function chromiumSkipNotice(why: string): string {
  return `uplift tests: skipping the tests that need a browser: ${why}. To run them: ${CHROMIUM_FIX} (CI sets UPLIFT_REQUIRE_CHROMIUM=1, which makes this an error).\n`;
}

/**
 * `describe` for tests that drive a real browser. Where there is no Chromium they are skipped,
 * with one line for the whole run saying how to install it; with UPLIFT_REQUIRE_CHROMIUM=1 (CI)
 * they fail instead. `fn` gets the executable to launch.
 */
export function describeWithChromium(name: string, fn: (executable: string) => void, env: Record<string, string | undefined> = process.env): void {
  const { path, why } = findChromium(env);
  if (!why) {
    describe(name, () => fn(path));
    return;
  }
  if (env.UPLIFT_REQUIRE_CHROMIUM === '1') {
    describe(name, () => {
      test('needs Chromium (UPLIFT_REQUIRE_CHROMIUM=1)', () => {
        throw new Error(`no Chromium to drive here: ${why}. Fix: ${CHROMIUM_FIX}`);
      });
    });
    return;
  }
  noticeOnce('chromium', chromiumSkipNotice(why));
  describe.skip(name, () => fn(path));
}
