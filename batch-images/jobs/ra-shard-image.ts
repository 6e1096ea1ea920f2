/**
 * Entrypoint of an image job (the stack's images queue): the `ra-shard` job, which pulls its
 * task's image itself (UPLIFT_TASK_IMAGE; core/images) with the job role's ECR token for images
 * mirrored into ECR, anonymously from other registries.
 */
import { runRaShard } from '../../core/jobs/ra-shard';
import { ecrRegistryAuth } from '../../lambdas/aws/ecr-credentials';
import { runJob } from './run-job';

const imagePull = { auth: ecrRegistryAuth() };
void runJob('ra-shard', (store, env, processEnv) => runRaShard(store, env, processEnv, { imagePull }));
