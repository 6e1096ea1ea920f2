import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pullTaskRoot, useTaskRoot } from '../../../core/images/task-root';
import { taskSystem } from '../../../core/cbm/workspace';
import { FakeRegistry, gzipLayer } from '../../support/fake-registry';

describe('the task root of an image job', () => {
  let reg: FakeRegistry;
  let scratch: string;
  beforeEach(async () => {
    reg = await new FakeRegistry({ auth: 'bearer' }).start();
    reg.image('swebench/task', 'latest', [gzipLayer([{ type: 'Directory', path: 'testbed/' }, { type: 'File', path: 'testbed/setup.py', content: 'setup' }])]);
    scratch = mkdtempSync(join(tmpdir(), 'uplift-task-root-'));
  });
  afterEach(async () => {
    await reg.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('UPLIFT_TASK_IMAGE set: the image of the shard\'s task is pulled into the scratch dir, and becomes the root taskSystem reads', async () => {
    const image = `${reg.host}/swebench/task:latest`;
    const lines: string[] = [];
    const root = await pullTaskRoot({ UPLIFT_TASK_IMAGE: image }, [image], scratch, { plainHttp: true, log: (l) => lines.push(l) });
    expect(root).toBe(join(scratch, 'task-root'));
    expect(readFileSync(join(root!, 'testbed/setup.py'), 'utf8')).toBe('setup');
    expect(lines.at(-1)).toMatch(new RegExp(`^image ${image.replace(/[.]/g, '\\.')}: 1 layers, 2 entries, 5 bytes applied at ${root}`));
    const env: Record<string, string | undefined> = {};
    const restore = useTaskRoot(root!, env);
    expect(taskSystem({ image, workdir: '/testbed' }, env)).toEqual({ root, workspaceAt: '/testbed' });
    restore();
    expect(env).toEqual({});
  });

  test('no UPLIFT_TASK_IMAGE (CPU and GPU jobs, the local runner): nothing is pulled', async () => {
    await expect(pullTaskRoot({}, [`${reg.host}/swebench/task:latest`], scratch, { plainHttp: true })).resolves.toBeUndefined();
    expect(reg.requests).toEqual([]);
  });

  test('a job whose task names another image (or several) fails before pulling anything', async () => {
    const image = `${reg.host}/swebench/task:latest`;
    await expect(pullTaskRoot({ UPLIFT_TASK_IMAGE: image }, [`${reg.host}/other:latest`], scratch, { plainHttp: true })).rejects.toThrow(
      `this image job was started for ${image} (UPLIFT_TASK_IMAGE), but its shard's tasks name ${reg.host}/other:latest: each image job runs one task of that image`,
    );
    await expect(pullTaskRoot({ UPLIFT_TASK_IMAGE: image }, [image, `${reg.host}/other:latest`], scratch, { plainHttp: true })).rejects.toThrow(/tasks name .*task:latest, .*other:latest/);
    await expect(pullTaskRoot({ UPLIFT_TASK_IMAGE: image }, [undefined], scratch, { plainHttp: true })).rejects.toThrow(/tasks name no image/);
    expect(reg.requests).toEqual([]);
  });
});
