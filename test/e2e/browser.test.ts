import { describe, expect, it } from 'vitest';
import { browserPlan } from './browser.ts';

describe('browserPlan: when the browser tests run', () => {
  const none = () => false;
  it('runs with the first candidate that exists', () => {
    expect(browserPlan({}, [undefined, '/a', '/b'], (p) => p === '/b')).toEqual({ path: '/b', skip: false, message: null });
  });

  it('skips with a message when no browser is installed and CI is unset', () => {
    for (const env of [{}, { CI: '' }, { CI: 'false' }, { CI: '0' }]) {
      const plan = browserPlan(env, ['/a'], none);
      expect(plan.skip).toBe(true);
      expect(plan.message).toMatch(/skipping browser tests: no Chromium found/);
    }
  });

  it('does not skip in CI without a browser: the tests run and fail', () => {
    for (const env of [{ CI: 'true' }, { CI: '1' }]) expect(browserPlan(env, ['/a'], none)).toEqual({ path: null, skip: false, message: null });
  });
});
