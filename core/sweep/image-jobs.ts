/**
 * Tasks that run in their own container image (a SWE-bench instance's prebuilt environment):
 * AWS Batch cannot override a job's image at submit time, so each image gets a job definition of
 * its own, registered once and reused by every run and sweep after it ({@link JobDefinitions}).
 * A run of such tasks has one shard per task, and each shard job is submitted with its task's
 * job definition ({@link imageJobs}); the state machine's image branch submits them one by one.
 */
import { createHash } from 'node:crypto';
import { SpecError } from '../errors';

/**
 * Most test tasks an image run may have: each is its own Batch job (baseline and MRA), and a
 * run's jobs are steps of one Step Functions child execution, whose history holds at most 25,000
 * events (about 8 per job). SWE-bench Lite's test split (300) and Verified (500) fit.
 */
export const MAX_IMAGE_TASKS = 1000;

/** Where image jobs are registered and found: the stack's Batch (lambdas/aws/batch-job-definitions.ts), or the local pool's stand-in. */
export interface JobDefinitions {
  /** The job definition (ARN or `name:revision`) that runs `ra-shard` jobs in `image`; registered when missing. */
  ensure(image: string): Promise<string>;
}

/** One shard job of an image run: its index (as an array child's) and the job definition of its task's image. */
export interface ImageJob {
  index: number;
  jobDefinition: string;
}

/**
 * Name of the job definition for `image` under a stack's `prefix`: a hash of the image reference
 * and of the template it is registered from (harness image, roles, sizes), so a redeployed stack
 * registers fresh definitions instead of reusing ones that start an old harness.
 */
export function imageJobDefinitionName(prefix: string, image: string, templateFingerprint: string): string {
  const h = createHash('sha256').update(`${templateFingerprint}\n${image}`).digest('hex').slice(0, 24);
  return `${prefix}-img-${h}`.slice(0, 128);
}

/**
 * The jobs of a run whose test tasks run in `images` (one per task, in test order): the baseline
 * runs `shards` jobs, the MRA `mraJobs` (its shards, then the same shards once per budget-curve
 * bundle); job `i` runs shard `i % shards`, whose one task is task `i % shards`.
 */
export async function imageJobs(images: readonly string[], jobs: number, registry: JobDefinitions): Promise<ImageJob[]> {
  const defs = new Map<string, string>();
  for (const image of new Set(images)) defs.set(image, await registry.ensure(image));
  return Array.from({ length: jobs }, (_, index) => ({ index, jobDefinition: defs.get(images[index % images.length]) as string }));
}

/**
 * Images of a split's tasks, in order, or undefined when none names one. Every task must name one
 * when any does (a run's shards all go to the image queue); reported with the tasks at fault.
 */
export function splitImages<T extends { id: string }>(where: string, tasks: readonly T[], imageOf: (t: T) => string | undefined): string[] | undefined {
  const images = tasks.map((t) => imageOf(t));
  const named = images.filter((i): i is string => i !== undefined);
  if (named.length === 0) return undefined;
  if (named.length < tasks.length) {
    const without = tasks.filter((_, i) => images[i] === undefined).map((t) => t.id);
    throw new SpecError([
      `${where}: ${named.length} of ${tasks.length} test tasks name a container image but ${without.slice(0, 5).join(', ')}${without.length > 5 ? ` and ${without.length - 5} more` : ''} do not. Fix: give every task an "image" in its task.json, or none`,
    ]);
  }
  if (tasks.length > MAX_IMAGE_TASKS)
    throw new SpecError([
      `${where}: ${tasks.length} test tasks run in container images, more than the ${MAX_IMAGE_TASKS} one run can submit (each is its own Batch job in the run's Step Functions history). Fix: split the family into several CBMs of at most ${MAX_IMAGE_TASKS} test tasks`,
    ]);
  return named;
}
