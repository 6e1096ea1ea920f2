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
