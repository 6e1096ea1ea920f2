import type { EmbeddedServices } from '../../../cli/local/embedded';
import type { Stores } from '../../../lambdas/aws/clients';
import { embeddedForTest } from '../../support/embedded';

let svc: EmbeddedServices;
let stores: Stores;
beforeAll(async () => {
  ({ svc, stores } = await embeddedForTest());
});
afterAll(async () => svc.stop());

describe('embedded S3', () => {
  test('lists more than 1,000 keys across pages (s3rver continuation tokens work on Node 20)', async () => {
    // GIVEN 1,234 objects under one prefix
    const keys = Array.from({ length: 1234 }, (_, i) => `many/k-${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => stores.artifacts.putText(k, k)));
    // WHEN listed
    const listed = await stores.artifacts.list('many/');
    // THEN every key comes back, in order, once
    expect(listed).toEqual(keys);
  });
});

describe('the embedded services take requests signed with this process key only', () => {
  // At sandbox levels without network isolation agents share this loopback: an MRA once read the test split from the embedded S3.
  test('unsigned requests, and requests signed with s3rver\'s well-known key or another key id, are refused; the stores still work', async () => {
    await stores.artifacts.putText('datasets/x/v/test.jsonl', '{"id":"1","text":"t","label":"secret-label"}\n');
    const s3 = svc.env.UPLIFT_S3_ENDPOINT;
    const ddb = svc.env.UPLIFT_DYNAMODB_ENDPOINT;
    // WHEN an agent asks without credentials
    const anon = await fetch(`${s3}/${svc.env.UPLIFT_BUCKET}/datasets/x/v/test.jsonl`);
    expect(anon.status).toBe(403);
    expect(await anon.text()).not.toContain('secret-label');
    const listing = await fetch(`${s3}/${svc.env.UPLIFT_BUCKET}?list-type=2`);
    expect(listing.status).toBe(403);
    const scan = await fetch(ddb, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.Scan', authorization: 'AWS4-HMAC-SHA256 Credential=S3RVER/20261130/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0' }, body: JSON.stringify({ TableName: svc.env.UPLIFT_TABLE }) });
    expect(scan.status).toBe(403);
    // WHEN it signs with s3rver's default key, or with a key id of the same shape it made up
    const { S3Client, GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client = (accessKeyId: string, secretAccessKey: string) =>
      new S3Client({ region: 'us-east-1', endpoint: s3, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
    const get = new GetObjectCommand({ Bucket: svc.env.UPLIFT_BUCKET, Key: 'datasets/x/v/test.jsonl' });
    await expect(client('S3RVER', 'S3RVER').send(get)).rejects.toThrow();
    await expect(client(`UPLIFT${'0'.repeat(20)}`, 'a-guessed-secret-of-enough-length').send(get)).rejects.toThrow();
    // THEN the harness's own clients still read and write
    expect(await stores.artifacts.getText('datasets/x/v/test.jsonl')).toContain('secret-label');
    await stores.scores.initBudget('signed-only', 1);
    expect((await stores.scores.getBudget('signed-only'))?.limitUsd).toBe(1);
  });
});
