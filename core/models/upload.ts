import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { z } from 'zod';
import { SpecError, UpliftError } from '../errors';
import { parseJson } from '../jsonl';
import { ArtifactStore } from '../ports';
import { ModelSpec } from '../spec';
import { expandPlan, StagedSweep, stagedSpecKey } from '../sweep/plan';

/** Uploads under this prefix can start sweeps (README, "Start sweeps by uploading a model"). */
export const MODELS_PREFIX = 'models/';
/** The marker a model upload ends with: `models/<…>/uplift-model.json`, next to the weights it describes. */
export const MODEL_MANIFEST = 'uplift-model.json';
export const TEMPLATES_PREFIX = 'templates/';

export function templateKey(template: string): string {
  return `${TEMPLATES_PREFIX}${template}.json`;
}

/**
 * `uplift-model.json`, uploaded after the weights: its arrival means the directory is complete.
 * Every field is optional; `{}` serves the directory under its own name.
 */
export const ModelManifest = z.strictObject({
  /** Served model name. @default the name of the directory that holds the manifest */
  name: z.string().optional(),
  maxModelLen: z.number().int().optional(),
  startupTimeoutSeconds: z.number().int().optional(),
  extraArgs: z.array(z.string()).optional(),
});
export type ModelManifest = z.infer<typeof ModelManifest>;

/** One object-created notification (from an EventBridge `Object Created` event or an S3 notification record). */
export interface ObjectCreated {
  bucket: string;
  key: string;
  /** Version id, else the S3 sequencer: two deliveries of one upload share it, two uploads never do. */
  version: string;
  /** Event time (ISO 8601): the same for duplicate deliveries. */
  time: string;
}

/** A sweep template subscribed to a prefix of `models/`. */
export const Subscription = z.object({
  template: z.string().regex(/^[a-z0-9][a-z0-9-]{0,47}$/),
  prefix: z.string().startsWith(MODELS_PREFIX),
  createdAt: z.string(),
});
export type Subscription = z.infer<typeof Subscription>;

/** What happened to one (upload, template) pair, so a duplicate delivery can start nothing. */
export const UploadClaim = z.object({
  status: z.enum(['claimed', 'started']),
  sweepId: z.string(),
  claimedAt: z.string(),
  executionArn: z.string().optional(),
});
export type UploadClaim = z.infer<typeof UploadClaim>;

export type ClaimResult = { status: 'claimed' } | { status: 'in_progress'; claim: UploadClaim } | { status: 'started'; claim: UploadClaim };

/** Subscriptions and upload claims (DynamoDB adapter: lambdas/aws/dynamo-trigger-store.ts). */
export abstract class TriggerStore {
  abstract putSubscription(s: Subscription): Promise<void>;
  /** False when there was no such subscription. */
  abstract deleteSubscription(template: string, prefix: string): Promise<boolean>;
  abstract listSubscriptions(): Promise<Subscription[]>;
  /**
   * Claims (upload, template) with one conditional write: succeeds if nothing is stored or the
   * stored claim is an unfinished one older than `leaseSeconds` (its attempt died).
   */
  abstract claimUpload(uploadId: string, template: string, claim: UploadClaim, leaseSeconds: number): Promise<ClaimResult>;
  abstract markStarted(uploadId: string, template: string, executionArn: string): Promise<void>;
}

/** Starts the state machine for a staged sweep; starting the same sweep id twice starts it once. */
export abstract class SweepStarter {
  abstract start(sweepId: string): Promise<{ executionArn: string; alreadyStarted: boolean }>;
}

/** Another delivery of the same upload is being handled right now: retry later (the platform retries a thrown error). */
export class UploadInProgressError extends UpliftError {}

export function uploadId(u: ObjectCreated): string {
  return `${u.bucket}/${u.key}#${u.version}`;
}

/** `<template>-<yyyymmdd-hhmmss of the upload>-<6 hex of the upload>`: deterministic, so a retried start names the same execution. */
export function triggeredSweepId(template: string, u: ObjectCreated): string {
  const ts = new Date(u.time).toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${template}-${ts}-${createHash('sha256').update(uploadId(u)).digest('hex').slice(0, 6)}`;
}

/** The vllm model an upload describes: the manifest's directory is the weights prefix. */
export function uploadedModel(u: ObjectCreated, manifest: ModelManifest): ModelSpec {
  const dir = posix.dirname(u.key);
  const raw = { provider: 'vllm', name: manifest.name ?? posix.basename(dir), weightsUri: `s3://${u.bucket}/${dir}/`, ...manifest };
  const parsed = ModelSpec.safeParse(raw);
  if (!parsed.success)
    throw new SpecError(
      parsed.error.issues.map((i) => `s3://${u.bucket}/${u.key}: ${i.path.join('.') || '(top level)'}: ${i.message}${i.path[0] === 'name' && !manifest.name ? ` (the directory name "${raw.name}" is used when the manifest has no name). Fix: set "name" in ${MODEL_MANIFEST}` : ''}`),
    );
  return parsed.data;
}

/** A sweep of the template in which every RA runs on `model`. */
export function sweepFromTemplate(template: StagedSweep, model: ModelSpec, sweepId: string, createdAt: string): StagedSweep {
  return StagedSweep.parse({
    ...template,
    sweepId,
    createdAt,
    spec: { ...template.spec, ras: template.spec.ras.map((r) => ({ ...r, model })) },
    ras: template.ras.map((r) => ({ ...r, model })),
  });
}

/**
 * Stages like `stageSweep` (data sets and bundles content-addressed), but the staged spec goes to
 * `templates/<name>.json` instead of `sweeps/<id>/spec.json`: pass this store to stageSweep.
 */
export class TemplateStagingStore extends ArtifactStore {
  constructor(
    private readonly inner: ArtifactStore,
    private readonly stagingSweepId: string,
    private readonly template: string,
  ) {
    super();
  }
  private map(key: string): string {
    return key === stagedSpecKey(this.stagingSweepId) ? templateKey(this.template) : key;
  }
  uri(key: string): string {
    return this.inner.uri(this.map(key));
  }
  putBytes(key: string, body: Uint8Array, contentType?: string): Promise<void> {
    return this.inner.putBytes(this.map(key), body, contentType);
  }
  getBytes(key: string): Promise<Uint8Array | undefined> {
    return this.inner.getBytes(this.map(key));
  }
  exists(key: string): Promise<boolean> {
    return this.inner.exists(this.map(key));
  }
  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }
}

export type UploadOutcome =
  | { status: 'ignored'; reason: string }
  | { status: 'no_subscription'; key: string }
  | { status: 'started'; template: string; sweepId: string; executionArn: string; alreadyStarted: boolean }
  | { status: 'duplicate'; template: string; sweepId: string; executionArn?: string }
  | { status: 'invalid'; template?: string; problems: string[] };

export interface UploadDeps {
  /** The artifacts bucket's store, and its name: uploads to any other bucket are ignored. */
  artifacts: ArtifactStore;
  bucket: string;
  triggers: TriggerStore;
  starter: SweepStarter;
  now?: () => Date;
  /** How long a claim by an attempt in flight blocks others. @default 300 (the Lambda's timeout and more) */
  leaseSeconds?: number;
}

function problemsOf(e: unknown): string[] {
  if (e instanceof SpecError) return e.problems;
  if (e instanceof UpliftError) return [e.message];
  throw e;
}

/**
 * A model was uploaded: start one sweep per template subscribed to a prefix of its key, each
 * with every RA on the uploaded model. Idempotent per (upload, template): a claim is written
 * before anything starts and marked when the execution has started, the sweep id (= execution
 * name) is derived from the upload, so a duplicate delivery starts nothing and a retried
 * attempt starts the same execution. Throws UploadInProgressError when another delivery of the
 * same upload holds a live claim.
 */
export async function onModelUploaded(deps: UploadDeps, u: ObjectCreated): Promise<UploadOutcome[]> {
  if (u.bucket !== deps.bucket) return [{ status: 'ignored', reason: `bucket ${u.bucket} is not the artifacts bucket ${deps.bucket}` }];
  if (!u.key.startsWith(MODELS_PREFIX) || posix.basename(u.key) !== MODEL_MANIFEST)
    return [{ status: 'ignored', reason: `${u.key} is not a model manifest (${MODELS_PREFIX}<…>/${MODEL_MANIFEST})` }];
  const subs = (await deps.triggers.listSubscriptions()).filter((s) => u.key.startsWith(s.prefix)).sort((a, b) => a.template.localeCompare(b.template));
  if (!subs.length) return [{ status: 'no_subscription', key: u.key }];
  const source = deps.artifacts.uri(u.key);
  let model: ModelSpec;
  try {
    const text = await deps.artifacts.getText(u.key);
    if (text === undefined) return [{ status: 'invalid', problems: [`${source} is gone: it was deleted after the upload`] }];
    model = uploadedModel(u, parseJson(text, ModelManifest, source));
  } catch (e) {
    return [{ status: 'invalid', problems: problemsOf(e) }];
  }
  const now = (deps.now ? deps.now() : new Date()).toISOString();
  const id = uploadId(u);
  const outcomes: UploadOutcome[] = [];
  const inFlight: string[] = [];
  for (const sub of subs) {
    const sweepId = triggeredSweepId(sub.template, u);
    const claim = await deps.triggers.claimUpload(id, sub.template, { status: 'claimed', sweepId, claimedAt: now }, deps.leaseSeconds ?? 300);
    if (claim.status === 'started') {
      outcomes.push({ status: 'duplicate', template: sub.template, sweepId: claim.claim.sweepId, executionArn: claim.claim.executionArn });
      continue;
    }
    if (claim.status === 'in_progress') {
      inFlight.push(sub.template);
      continue;
    }
    try {
      const text = await deps.artifacts.getText(templateKey(sub.template));
      if (text === undefined) throw new SpecError([`${deps.artifacts.uri(templateKey(sub.template))} is missing, but template ${sub.template} subscribes to ${sub.prefix}. Fix: run \`uplift subscribe\` for it again`]);
      const staged = sweepFromTemplate(parseJson(text, StagedSweep, deps.artifacts.uri(templateKey(sub.template))), model, sweepId, u.time);
      expandPlan(staged); // refuses a sweep over its budget before anything starts
      await deps.artifacts.putText(stagedSpecKey(sweepId), JSON.stringify(staged, null, 2), 'application/json');
      const started = await deps.starter.start(sweepId);
      await deps.triggers.markStarted(id, sub.template, started.executionArn);
      outcomes.push({ status: 'started', template: sub.template, sweepId, ...started });
    } catch (e) {
      outcomes.push({ status: 'invalid', template: sub.template, problems: problemsOf(e) });
    }
  }
  if (inFlight.length) throw new UploadInProgressError(`${id}: another delivery is starting the sweeps of ${inFlight.join(', ')}; retry later (outcomes so far: ${JSON.stringify(outcomes)})`);
  return outcomes;
}
