import type { ClassificationDataset } from '../../../core/cbm/classification';
import { datasetVersion } from '../../../core/cbm/dataset';

const ex = (id: string, label = 'A') => ({ id, text: `text of ${id}`, label });
const ds = (dev: string[], test: string[]): ClassificationDataset => ({ meta: { labels: ['A', 'B'], task: 'classify' }, dev: dev.map((i) => ex(i)), test: test.map((i) => ex(i)) });

describe('data set version: the content hash that keys staged data and cached baselines', () => {
  test('moving a task between dev and test changes it (the parts are length-prefixed, not concatenated)', () => {
    // A concatenation of dev and test lines would hash these two the same: the last dev line becomes the first test line.
    expect(datasetVersion('classification', ds(['a', 'b'], ['c']))).not.toBe(datasetVersion('classification', ds(['a'], ['b', 'c'])));
  });

  test('it is the full SHA-256, stable for the same content, and changes with any label or text', () => {
    const v = datasetVersion('classification', ds(['a'], ['b', 'c']));
    expect(v).toMatch(/^[0-9a-f]{64}$/);
    expect(datasetVersion('classification', ds(['a'], ['b', 'c']))).toBe(v);
    const relabelled = ds(['a'], ['b', 'c']);
    relabelled.test[1] = ex('c', 'B');
    expect(datasetVersion('classification', relabelled)).not.toBe(v);
    expect(datasetVersion('classification', { ...ds(['a'], ['b', 'c']), meta: { labels: ['A', 'B', 'C'], task: 'classify' } })).not.toBe(v);
  });

  test('the kind is part of it: the same files read as another kind are another data set', () => {
    const v = datasetVersion('classification', ds(['a'], ['b', 'c']));
    expect(datasetVersion('multiple-choice', ds(['a'], ['b', 'c']))).not.toBe(v);
  });
});
