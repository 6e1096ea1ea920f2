import { chromiumSkipNotice, DEFAULT_CHROMIUM, findChromium } from '../support/chromium';

/* Which Chromium the browser tests drive, and what a machine without one is told. */

describe('findChromium', () => {
  test('UPLIFT_CHROMIUM names the executable when set', () => {
    expect(findChromium({ UPLIFT_CHROMIUM: process.execPath })).toEqual({ path: process.execPath });
  });

  test('an UPLIFT_CHROMIUM that is not executable is reported, not replaced by the default', () => {
    expect(findChromium({ UPLIFT_CHROMIUM: '/nonexistent/chrome' })).toEqual({ path: '/nonexistent/chrome', why: 'UPLIFT_CHROMIUM=/nonexistent/chrome is not an executable file' });
    expect(findChromium({ UPLIFT_CHROMIUM: __filename }).why).toMatch(/is not an executable file/);
  });

  test('without UPLIFT_CHROMIUM it is /usr/bin/chromium; pretending there is none says so', () => {
    expect(findChromium({}).path).toBe(DEFAULT_CHROMIUM);
    expect(findChromium({ UPLIFT_CHROMIUM: process.execPath, UPLIFT_TEST_PRETEND_NO_CHROMIUM: '1' }).why).toBe('Chromium not found (pretended: UPLIFT_TEST_PRETEND_NO_CHROMIUM=1)');
  });

  test('the skip notice is one line saying how to get the tests run and that CI makes it an error', () => {
    const n = chromiumSkipNotice('x not found');
    expect(n.trimEnd().split('\n')).toHaveLength(1);
    expect(n).toMatch(/skipping the tests that need a browser: x not found\. To run them: apt-get install -y chromium, or set UPLIFT_CHROMIUM .*UPLIFT_REQUIRE_CHROMIUM=1/);
  });
});
