/**
 * The task root of an image job (the stack's images queue): the harness pulls the task's image
 * itself (./pull.ts: its files only, nothing of it runs) and the shard's sandboxes take it as
 * their system. The job's definition names the image (`UPLIFT_TASK_IMAGE`); the shard's tasks
 * must name that same image.
 */
import { join } from 'node:path';
import { pullImage, type PullOptions } from './pull';

/** Set by the image job's definition (infra/constructs/jobs.ts): the image this job's task runs in. */
export const TASK_IMAGE_ENV = 'UPLIFT_TASK_IMAGE';
/** What core/cbm/workspace's `taskSystem` reads: the root filesystem of the task's image. */
export const TASK_ROOT_ENV = 'UPLIFT_TASK_ROOT';

/**
 * In an image job, pulls the image of the shard's tasks into `<scratch>/task-root` and returns
 * that directory; elsewhere (no `UPLIFT_TASK_IMAGE`: CPU and GPU jobs, the local runner)
 * undefined. A job whose tasks name another image, or several, fails before pulling anything.
 */
export async function pullTaskRoot(env: Record<string, string | undefined>, taskImages: readonly (string | undefined)[], scratch: string, opts: PullOptions = {}): Promise<string | undefined> {
  const image = env[TASK_IMAGE_ENV];
  if (!image) return undefined;
  const named = [...new Set(taskImages.filter((i): i is string => !!i))];
  if (named.length !== 1 || named[0] !== image)
    throw new Error(`this image job was started for ${image} (${TASK_IMAGE_ENV}), but its shard's tasks name ${named.length ? named.join(', ') : 'no image'}: each image job runs one task of that image`);
  const root = join(scratch, 'task-root');
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const pulled = await pullImage(image, root, { ...opts, log });
  log(`image ${image}: ${pulled.layers} layers, ${pulled.entries} entries, ${pulled.bytes} bytes applied at ${root} (manifest ${pulled.manifestDigest})`);
  if (pulled.skippedCount)
    log(`image ${image}: ${pulled.skippedCount} entries not applied: ${pulled.skipped.slice(0, 20).map((s) => `${s.path} (${s.reason})`).join('; ')}`);
  return root;
}

/**
 * Makes `root` the task root that `taskSystem` (core/cbm/workspace) reads from the process
 * environment, and returns what puts the environment back.
 */
export function useTaskRoot(root: string, env: Record<string, string | undefined> = process.env): () => void {
  const before = env[TASK_ROOT_ENV];
  env[TASK_ROOT_ENV] = root;
  return () => {
    if (before === undefined) delete env[TASK_ROOT_ENV];
    else env[TASK_ROOT_ENV] = before;
  };
}
