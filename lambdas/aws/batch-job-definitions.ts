import { createHash } from 'node:crypto';
import { DescribeJobDefinitionsCommand, RegisterJobDefinitionCommand, type BatchClient, type RegisterJobDefinitionRequest } from '@aws-sdk/client-batch';
import { z } from 'zod';
import { imageJobDefinitionName, type JobDefinitions } from '../../core/sweep/image-jobs';

/** The placeholder the stack's template has where a task's image goes. */
export const IMAGE_PLACEHOLDER = '{{image}}';
/** Tag every image job definition carries: the image it runs (DescribeJobDefinitions shows tags). */
export const IMAGE_TAG = 'uplift:image';

/**
 * What the stack gives PlanRun (environment `UPLIFT_IMAGE_JOB_TEMPLATE`, JSON): a name prefix and
 * a RegisterJobDefinition request whose containers hold {@link IMAGE_PLACEHOLDER} where the
 * task's image goes (infra/constructs/jobs.ts builds it).
 */
export const ImageJobTemplate = z.object({
  prefix: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/),
  request: z.looseObject({ type: z.literal('container'), ecsProperties: z.looseObject({}), platformCapabilities: z.array(z.string()) }),
});
export type ImageJobTemplate = z.infer<typeof ImageJobTemplate>;

/** An image reference Batch can pull: `[registry/]repository[:tag][@digest]`, no whitespace or shell characters. */
const IMAGE_REF = /^[a-z0-9][a-z0-9._/:-]*(@sha256:[a-f0-9]{64})?$/i;

/**
 * Job definitions of tasks' images in the stack's Batch: one per (image, template), found by its
 * name (a hash of both) among ACTIVE definitions, registered from the template when missing.
 * Registering costs nothing and is idempotent in effect: a concurrent PlanRun that registers the
 * same name adds a revision with the same contents, and either works.
 */
export class BatchJobDefinitions implements JobDefinitions {
  private readonly fingerprint: string;
  private readonly known = new Map<string, string>();

  constructor(
    private readonly batch: Pick<BatchClient, 'send'>,
    private readonly template: ImageJobTemplate,
  ) {
    this.fingerprint = createHash('sha256').update(JSON.stringify(template)).digest('hex');
  }

  async ensure(image: string): Promise<string> {
    if (!IMAGE_REF.test(image) || image.length > 255)
      throw new Error(`task image "${image.slice(0, 80)}" is not an image reference Batch can pull (e.g. "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"). Fix the task's "image" in its task.json`);
    const cached = this.known.get(image);
    if (cached) return cached;
    const name = imageJobDefinitionName(this.template.prefix, image, this.fingerprint);
    const found = await this.batch.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: name, status: 'ACTIVE' }));
    const existing = (found.jobDefinitions ?? []).filter((d) => d.tags?.[IMAGE_TAG] === image).sort((a, b) => (b.revision ?? 0) - (a.revision ?? 0))[0];
    let arn = existing?.jobDefinitionArn;
    if (!arn) {
      const request = JSON.parse(JSON.stringify(this.template.request).split(IMAGE_PLACEHOLDER).join(image)) as RegisterJobDefinitionRequest;
      const registered = await this.batch.send(new RegisterJobDefinitionCommand({ ...request, jobDefinitionName: name, tags: { ...(request.tags ?? {}), [IMAGE_TAG]: image } }));
      arn = registered.jobDefinitionArn;
      if (!arn) throw new Error(`RegisterJobDefinition for ${image} answered no ARN`);
    }
    this.known.set(image, arn);
    return arn;
  }
}

/** Where the local stand-in's image job definitions are (the local synth's account and region): the local pool runs them as `ra-shard`. */
export const LOCAL_IMAGE_JOB_DEFINITION_PREFIX = 'arn:aws:batch:local-1:000000000000:job-definition/local-img-';

/**
 * The local runner's stand-in: there is no container engine, so every image job runs the
 * `ra-shard` entrypoint on this machine; the definition's name still differs per image, so the
 * state machine's image branch runs as it does in the cloud.
 */
export class LocalJobDefinitions implements JobDefinitions {
  constructor(private readonly arnPrefix: string) {}
  ensure(image: string): Promise<string> {
    return Promise.resolve(`${this.arnPrefix}${imageJobDefinitionName('local', image, 'local').slice('local-img-'.length)}`);
  }
}
