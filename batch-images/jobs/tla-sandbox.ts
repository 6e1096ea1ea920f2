/** Entrypoint of the `tla-sandbox` Batch job. */
import { runTlaSandbox } from '../../core/jobs/tla-sandbox';
import { runJob } from './run-job';

void runJob('tla-sandbox', runTlaSandbox);
