/** Lambda RecordBaseline: score the baseline shards and publish them in the baseline cache. */
import { recordBaseline } from '../core/sweep/steps';
import { stepHandler } from './handler';

export const handler = stepHandler(recordBaseline);
