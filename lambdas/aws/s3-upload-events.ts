import { z } from 'zod';
import type { ObjectCreated } from '../../core/models/upload';

/** EventBridge `Object Created` from S3 (bucket with EventBridge notifications on). */
export const EventBridgeObjectCreated = z.object({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  time: z.string(),
  detail: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({ key: z.string(), size: z.number().optional(), etag: z.string().optional(), 'version-id': z.string().optional(), sequencer: z.string().optional() }),
  }),
});

/** A classic S3 event notification (also what the embedded S3 server emits locally). Keys arrive URL-encoded. */
export const S3NotificationEvent = z.object({
  Records: z.array(
    z.object({
      eventSource: z.literal('aws:s3'),
      eventName: z.string(),
      eventTime: z.string(),
      s3: z.object({
        bucket: z.object({ name: z.string() }),
        object: z.object({ key: z.string(), size: z.number().optional(), eTag: z.string().optional(), versionId: z.string().optional(), sequencer: z.string().optional() }),
      }),
    }),
  ),
});

export const UploadEvent = z.union([EventBridgeObjectCreated, S3NotificationEvent]);
export type UploadEvent = z.infer<typeof UploadEvent>;

/** The object-created notifications in an event of either shape; other S3 events (deletes) are dropped. */
export function objectsCreated(event: UploadEvent): ObjectCreated[] {
  if ('Records' in event)
    return event.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => ({
      bucket: r.s3.bucket.name,
      key: decodeURIComponent(r.s3.object.key.replace(/\+/g, ' ')),
      version: r.s3.object.versionId ?? r.s3.object.sequencer ?? r.s3.object.eTag ?? r.eventTime,
      time: r.eventTime,
    }));
  const o = event.detail.object;
  return [{ bucket: event.detail.bucket.name, key: o.key, version: o['version-id'] ?? o.sequencer ?? o.etag ?? event.time, time: event.time }];
}
