import { runOrder } from '../../../core/sweep/steps';

describe('runOrder: the runs Map starts each cell\'s first seed before any cell\'s second', () => {
  test('seed by seed, the plan order within a seed, nothing lost or repeated', () => {
    const plan = ['noop', 'fewshot', 'react'].flatMap((tla) => [1, 2, 3].map((seed) => ({ id: `${tla}-s${seed}`, seed })));
    expect(runOrder(plan).map((r) => r.id)).toEqual(['noop-s1', 'fewshot-s1', 'react-s1', 'noop-s2', 'fewshot-s2', 'react-s2', 'noop-s3', 'fewshot-s3', 'react-s3']);
    expect(runOrder([])).toEqual([]);
  });
});
