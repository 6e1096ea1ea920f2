import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CorruptRecordError } from '../../core/errors';
import { Subscription, TriggerStore, UploadClaim, type ClaimResult } from '../../core/models/upload';

const SUBSCRIPTIONS_PK = 'SUBSCRIPTION';
const subscriptionSk = (template: string, prefix: string) => `TEMPLATE#${template}#PREFIX#${prefix}`;
const claimKey = (uploadId: string, template: string) => ({ pk: `UPLOAD#${uploadId}`, sk: `TEMPLATE#${template}` });

/**
 * TriggerStore on the Uplift table: `SUBSCRIPTION`/`TEMPLATE#<t>#PREFIX#<p>` (which templates a
 * model upload starts) and `UPLOAD#<bucket>/<key>#<version>`/`TEMPLATE#<t>` (one claim per upload
 * and template, written with a conditional put so a duplicate delivery cannot start a second sweep).
 */
export class DynamoTriggerStore extends TriggerStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    readonly table: string,
  ) {
    super();
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async putSubscription(s: Subscription): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: SUBSCRIPTIONS_PK, sk: subscriptionSk(s.template, s.prefix), ...Subscription.parse(s) } }));
  }

  async deleteSubscription(template: string, prefix: string): Promise<boolean> {
    const out = await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: SUBSCRIPTIONS_PK, sk: subscriptionSk(template, prefix) }, ReturnValues: 'ALL_OLD' }));
    return out.Attributes !== undefined;
  }

  async listSubscriptions(): Promise<Subscription[]> {
    const subs: Subscription[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': SUBSCRIPTIONS_PK }, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of out.Items ?? []) {
        const r = Subscription.safeParse(item);
        if (!r.success) throw new CorruptRecordError(`${SUBSCRIPTIONS_PK}/${String(item.sk)}: stored item does not match its schema: ${r.error.issues[0].path.join('.')}: ${r.error.issues[0].message}`, { cause: r.error });
        subs.push(r.data);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    return subs;
  }

  async claimUpload(uploadId: string, template: string, claim: UploadClaim, leaseSeconds: number): Promise<ClaimResult> {
    const key = claimKey(uploadId, template);
    const expiry = new Date(Date.parse(claim.claimedAt) - leaseSeconds * 1000).toISOString();
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...key, ...UploadClaim.parse(claim) },
          ConditionExpression: 'attribute_not_exists(pk) OR (#st = :claimed AND claimedAt < :expiry)',
          ExpressionAttributeNames: { '#st': 'status' },
          ExpressionAttributeValues: { ':claimed': 'claimed', ':expiry': expiry },
        }),
      );
      return { status: 'claimed' };
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) throw e;
      const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
      if (!out.Item) return this.claimUpload(uploadId, template, claim, leaseSeconds);
      const stored = UploadClaim.safeParse(out.Item);
      if (!stored.success) throw new CorruptRecordError(`${key.pk}/${key.sk}: stored item does not match its schema: ${stored.error.issues[0].message}`, { cause: stored.error });
      return stored.data.status === 'started' ? { status: 'started', claim: stored.data } : { status: 'in_progress', claim: stored.data };
    }
  }

  async markStarted(uploadId: string, template: string, executionArn: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: claimKey(uploadId, template),
        UpdateExpression: 'SET #st = :started, executionArn = :arn',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#st': 'status' },
        ExpressionAttributeValues: { ':started': 'started', ':arn': executionArn },
      }),
    );
  }
}
