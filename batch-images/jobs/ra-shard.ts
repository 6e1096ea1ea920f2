/** Entrypoint of the `ra-shard` Batch job (one array child per shard). */
import { runRaShard } from '../../core/jobs/ra-shard';
import { runJob } from './run-job';

void runJob('ra-shard', runRaShard);
