import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { bwrapUnavailable, skipNotice } from '../../support/bwrap';

const ROOT = resolve(__dirname, '../../..');

/** Runs jest on the two fixture files, in a process group of its own (as a fresh `npm test` would be). */
function jestOnFixtures(env: Record<string, string>): { status: number | null; output: string } {
  const base = { ...process.env };
  delete base.UPLIFT_REQUIRE_BWRAP;
  delete base.UPLIFT_TEST_PRETEND_NO_BWRAP;
  const r = spawnSync('setsid', ['-w', process.execPath, join(ROOT, 'node_modules/jest/bin/jest.js'), '--ci', '--testMatch', '**/test/core/sandbox/fixtures/*.fixture.ts'], {
    cwd: ROOT,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 110_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('tests that need bubblewrap (test/support/bwrap.ts)', () => {
  test('the skip notice is one line that says how to install it', () => {
    const why = bwrapUnavailable({ UPLIFT_TEST_PRETEND_NO_BWRAP: '1' }) as string;
    expect(why).toMatch(/bubblewrap not found/);
    const notice = skipNotice(why);
    expect(notice.trimEnd().split('\n')).toHaveLength(1);
    expect(notice).toContain('apt-get install -y bubblewrap');
  });

  test('without bubblewrap they are skipped, with one line for the whole run; with UPLIFT_REQUIRE_BWRAP=1 they fail', () => {
    const skipped = jestOnFixtures({ UPLIFT_TEST_PRETEND_NO_BWRAP: '1' });
    expect(skipped.status).toBe(0);
    expect(skipped.output).toMatch(/Tests: +2 skipped, 2 passed, 4 total/);
    expect(skipped.output.match(/^uplift tests: skipping the tests that need the bwrap sandbox level: .*apt-get install -y bubblewrap.*$/gm)).toHaveLength(1);

    const required = jestOnFixtures({ UPLIFT_TEST_PRETEND_NO_BWRAP: '1', UPLIFT_REQUIRE_BWRAP: '1' });
    expect(required.status).toBe(1);
    expect(required.output).toMatch(/Tests: +2 failed, 2 passed, 4 total/);
    expect(required.output).toContain('the bwrap sandbox level is not available here: bubblewrap not found');
    expect(required.output).not.toMatch(/^uplift tests: skipping/m);
  });
});
