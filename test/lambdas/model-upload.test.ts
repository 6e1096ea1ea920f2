import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import S3rver from 's3rver';
import type { EmbeddedServices } from '../../cli/local/embedded';
import { onModelUploaded, TemplateStagingStore, UploadInProgressError, type UploadOutcome } from '../../core/models/upload';
import { loadSpec } from '../../core/spec';
import { prepareSweep, stageSweep } from '../../core/sweep/stage';
import { StagedSweep } from '../../core/sweep/plan';
import { dynamoClient, s3Client, StorageEnv, type Stores } from '../../lambdas/aws/clients';
import { DynamoTriggerStore } from '../../lambdas/aws/dynamo-trigger-store';
import { objectsCreated, S3NotificationEvent } from '../../lambdas/aws/s3-upload-events';
import { SfnSweepStarter } from '../../lambdas/aws/sfn-sweep-starter';
import { depsFromEnv, handler } from '../../lambdas/model-upload';
import { embeddedForTest } from '../support/embedded';
import { writeSmallSpec } from '../support/specs';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:UpliftPipeline';
const sfn = mockClient(SFNClient);
let svc: EmbeddedServices;
let stores: Stores;
let triggers: DynamoTriggerStore;
const savedEnv = { ...process.env };

/** An EventBridge "Object Created" event, as S3 sends it to EventBridge (AWS S3 user guide, EventBridge event message structure). */
function eventBridgeObjectCreated(key: string, versionId: string, time = '2025-03-04T05:06:07Z') {
  return {
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '123456789012',
    time,
    region: 'eu-west-1',
    resources: ['arn:aws:s3:::uplift-artifacts'],
    detail: {
      version: '0',
      bucket: { name: 'uplift-artifacts' },
      object: { key, size: 42, etag: 'b1946ac92492d2347c6235b4d2611184', 'version-id': versionId, sequencer: '00617F08299329D189' },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      'source-ip-address': '1.2.3.4',
      reason: 'PutObject',
    },
  };
}

async function put(key: string, body: string) {
  await stores.artifacts.putText(key, body, 'application/json');
}

async function stageTemplate(name: string, prefix: string) {
  const loaded = loadSpec(writeSmallSpec({ name, tlas: '[{kind: noop}]' }));
  const prepared = prepareSweep(loaded, {});
  await stageSweep(new TemplateStagingStore(stores.artifacts, `template-${name}`, name), prepared, `template-${name}`);
  await triggers.putSubscription({ template: name, prefix, createdAt: new Date().toISOString() });
}

const started = () => sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);

beforeAll(async () => {
  ({ svc, stores } = await embeddedForTest());
  Object.assign(process.env, svc.env, { UPLIFT_STATE_MACHINE_ARN: STATE_MACHINE });
  triggers = new DynamoTriggerStore(dynamoClient(StorageEnv.parse(svc.env)), svc.env.UPLIFT_TABLE);
  await stageTemplate('llama-probe', 'models/llama/');
  await stageTemplate('any-model', 'models/');
  await put('models/llama/8b/config.json', '{"architectures":["LlamaForCausalLM"]}');
  await put('models/llama/8b/uplift-model.json', JSON.stringify({ name: 'llama-8b', maxModelLen: 8192 }));
});
afterAll(async () => {
  process.env = savedEnv;
  await svc.stop();
});
/** The handler's structured log lines (one per invocation), captured instead of printed. */
let logged: string[] = [];
beforeEach(() => {
  logged = [];
  jest.spyOn(console, 'log').mockImplementation((line: string) => void logged.push(line));
  sfn.reset();
  sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => ({ executionArn: `arn:aws:states:eu-west-1:123456789012:execution:UpliftPipeline:${input.name}`, startDate: new Date() }));
});

afterEach(() => jest.restoreAllMocks());

describe('ModelUpload Lambda', () => {
  test('an EventBridge Object Created event for a manifest starts one sweep per subscribed template, every RA on the uploaded model', async () => {
    // GIVEN templates subscribed to models/llama/ and models/, and weights plus manifest under models/llama/8b/
    // WHEN the manifest's Object Created event arrives
    const { outcomes } = await handler(eventBridgeObjectCreated('models/llama/8b/uplift-model.json', 'v-1'));
    // THEN both templates start, each once, with an execution named after a deterministic sweep id
    expect(outcomes.map((o) => o.status)).toEqual(['started', 'started']);
    const calls = started();
    expect(calls).toHaveLength(2);
    for (const [i, template] of ['any-model', 'llama-probe'].entries()) {
      const o = outcomes[i] as Extract<UploadOutcome, { status: 'started' }>;
      expect(o.template).toBe(template);
      expect(o.sweepId).toMatch(new RegExp(`^${template}-20250304-050607-[0-9a-f]{6}$`));
      expect(calls[i]).toEqual({ stateMachineArn: STATE_MACHINE, name: o.sweepId, input: JSON.stringify({ sweepId: o.sweepId }) });
      // AND the staged spec puts every RA on the uploaded model, served by vLLM from its S3 prefix
      const staged = StagedSweep.parse(JSON.parse((await stores.artifacts.getText(`sweeps/${o.sweepId}/spec.json`)) as string));
      const model = { provider: 'vllm', name: 'llama-8b', weightsUri: 's3://uplift-artifacts/models/llama/8b/', maxModelLen: 8192, startupTimeoutSeconds: 900, extraArgs: [] };
      expect(staged.ras.map((r) => r.model)).toEqual([model]);
      expect(staged.spec.ras.map((r) => r.model)).toEqual([model]);
      expect(staged.createdAt).toBe('2025-03-04T05:06:07Z');
    }
  });

  test('the same upload delivered again starts nothing', async () => {
    // GIVEN the upload above was handled
    // WHEN EventBridge delivers the same event again
    const { outcomes } = await handler(eventBridgeObjectCreated('models/llama/8b/uplift-model.json', 'v-1'));
    // THEN no execution is started and both templates report the sweep that already runs
    expect(started()).toEqual([]);
    // AND the invocation logs one structured line saying so
    expect(logged.map((l) => JSON.parse(l) as unknown)).toEqual([{ uplift: 'model-upload', outcomes }]);
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'duplicate', template: 'any-model', sweepId: expect.stringMatching(/^any-model-/), executionArn: expect.stringContaining(':execution:UpliftPipeline:any-model-') }),
      expect.objectContaining({ status: 'duplicate', template: 'llama-probe' }),
    ]);
  });

  test('a new version of the manifest is a new upload: it starts new sweeps', async () => {
    const { outcomes } = await handler(eventBridgeObjectCreated('models/llama/8b/uplift-model.json', 'v-2', '2025-03-05T00:00:00Z'));
    expect(outcomes.map((o) => o.status)).toEqual(['started', 'started']);
    expect(started()).toHaveLength(2);
  });

  test('an S3 notification record (as the embedded S3 server emits it) is handled like the EventBridge event', async () => {
    // GIVEN a real S3 notification from an S3-compatible server for a manifest in a directory with no name field
    const dir = mkdtempSync(join(tmpdir(), 'uplift-s3events-'));
    const server = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, configureBuckets: [{ name: 'uplift-artifacts' }] });
    const { port } = await server.run();
    const events: unknown[] = [];
    server.on('event', (e: unknown) => events.push(e));
    const s3 = s3Client(StorageEnv.parse({ ...svc.env, UPLIFT_S3_ENDPOINT: `http://127.0.0.1:${port}` }));
    const manifest = JSON.stringify({});
    await s3.send(new PutObjectCommand({ Bucket: 'uplift-artifacts', Key: 'models/mistral-7b/uplift-model.json', Body: manifest }));
    s3.destroy();
    await server.close();
    expect(events).toHaveLength(1);
    const record = S3NotificationEvent.parse(events[0]);
    expect(record.Records[0].eventName).toBe('ObjectCreated:Put');
    await put('models/mistral-7b/config.json', '{}');
    await put('models/mistral-7b/uplift-model.json', manifest);
    // WHEN the handler gets it
    const { outcomes } = await handler(events[0]);
    // THEN the template subscribed to models/ starts with the directory's name as the served name
    expect(outcomes).toEqual([expect.objectContaining({ status: 'started', template: 'any-model' })]);
    const sweepId = (outcomes[0] as Extract<UploadOutcome, { status: 'started' }>).sweepId;
    const staged = StagedSweep.parse(JSON.parse((await stores.artifacts.getText(`sweeps/${sweepId}/spec.json`)) as string));
    expect(staged.ras[0].model).toMatchObject({ provider: 'vllm', name: 'mistral-7b', weightsUri: 's3://uplift-artifacts/models/mistral-7b/' });
  });

  test('URL-encoded keys of S3 notifications are decoded', () => {
    const e = { Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', eventTime: '2025-01-01T00:00:00.000Z', s3: { bucket: { name: 'b' }, object: { key: 'models/my+model%2Bv2/uplift-model.json', versionId: 'x' } } }] };
    expect(objectsCreated(S3NotificationEvent.parse(e))).toEqual([{ bucket: 'b', key: 'models/my model+v2/uplift-model.json', version: 'x', time: '2025-01-01T00:00:00.000Z' }]);
  });

  test('weights files, unsubscribed prefixes and invalid manifests start nothing, and say why', async () => {
    expect((await handler(eventBridgeObjectCreated('models/llama/8b/model-00001.safetensors', 'w'))).outcomes).toEqual([
      { status: 'ignored', reason: 'models/llama/8b/model-00001.safetensors is not a model manifest (models/<…>/uplift-model.json)' },
    ]);
    await triggers.deleteSubscription('any-model', 'models/');
    try {
      await put('models/qwen/uplift-model.json', '{}');
      expect((await handler(eventBridgeObjectCreated('models/qwen/uplift-model.json', 'q'))).outcomes).toEqual([{ status: 'no_subscription', key: 'models/qwen/uplift-model.json' }]);
      await put('models/llama/bad name/uplift-model.json', '{"maxModelLen": 4096}');
      const bad = (await handler(eventBridgeObjectCreated('models/llama/bad name/uplift-model.json', 'b'))).outcomes;
      expect(bad).toEqual([{ status: 'invalid', problems: [expect.stringMatching(/uplift-model\.json: name: is the served model name.*the directory name "bad name" is used when the manifest has no name\)\. Fix: set "name" in uplift-model\.json$/)] }]);
      await put('models/llama/typo/uplift-model.json', '{"nmae": "x"}');
      expect((await handler(eventBridgeObjectCreated('models/llama/typo/uplift-model.json', 't'))).outcomes).toEqual([{ status: 'invalid', problems: [expect.stringContaining('uplift-model.json')] }]);
    } finally {
      await triggers.putSubscription({ template: 'any-model', prefix: 'models/', createdAt: new Date().toISOString() });
    }
    expect(started()).toEqual([]);
  });

  test('a delivery that finds another one mid-flight is retried later; a retry after a crash reuses the started execution', async () => {
    const deps = depsFromEnv(process.env);
    const upload = { bucket: 'uplift-artifacts', key: 'models/llama/8b/uplift-model.json', version: 'v-3', time: '2025-03-06T00:00:00Z' };
    // GIVEN another delivery claimed the upload for llama-probe a moment ago
    await triggers.claimUpload(`uplift-artifacts/${upload.key}#v-3`, 'llama-probe', { status: 'claimed', sweepId: 'x', claimedAt: new Date().toISOString() }, 300);
    // WHEN this delivery runs, THEN it starts the other template and asks to be retried for this one
    await expect(onModelUploaded(deps, upload)).rejects.toThrow(UploadInProgressError);
    expect(started()).toHaveLength(1);
    // GIVEN that delivery crashed after starting its execution; WHEN the retry comes after the lease
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const outcomes = await onModelUploaded({ ...deps, leaseSeconds: 0 }, upload);
    // THEN it reports the existing execution instead of starting another
    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'duplicate', template: 'any-model' }),
      expect.objectContaining({ status: 'started', template: 'llama-probe', alreadyStarted: true, executionArn: expect.stringMatching(/:execution:UpliftPipeline:llama-probe-20250306-000000-[0-9a-f]{6}$/) }),
    ]);
  });

  test('the starter names executions after sweeps and maps an existing one to its ARN', async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));
    const r = await new SfnSweepStarter(new SFNClient({ region: 'eu-west-1' }), STATE_MACHINE).start('s-1');
    expect(r).toEqual({ executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:UpliftPipeline:s-1', alreadyStarted: true });
  });
});
