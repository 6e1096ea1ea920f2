import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobGpus, JobGpuError } from '../../../core/sandbox';

/** An instance's /dev with 4 GPUs (nvidia0–3, stand-in character devices made with mknod) and the control nodes, but no nvidia-uvm-tools. */
function instanceDev(): string {
  const dir = mkdtempSync(join(tmpdir(), 'uplift-gpu-dev-'));
  for (const n of ['nvidia0', 'nvidia1', 'nvidia2', 'nvidia3', 'nvidiactl', 'nvidia-uvm', 'nvidia-modeset']) execFileSync('mknod', ['-m', '0666', join(dir, n), 'c', '1', '3']);
  return dir;
}

const UUIDS = ['GPU-0a1b2c3d-0000-1111-2222-333344445555', 'GPU-1a1b2c3d-0000-1111-2222-333344445555', 'GPU-2a1b2c3d-0000-1111-2222-333344445555', 'GPU-3a1b2c3d-0000-1111-2222-333344445555'];
/** What `nvidia-smi --query-gpu=index,uuid --format=csv,noheader` prints on that instance. */
const SMI = UUIDS.map((u, i) => `${i}, ${u}`).join('\n') + '\n';

describe("jobGpus: the device nodes of the job's own GPUs, never another GPU of the instance", () => {
  const devRoot = instanceDev();
  const smi = () => SMI;
  const names = (r: ReturnType<typeof jobGpus>) => r.devices.map((d) => [d.host.slice(devRoot.length), d.path]);

  test('UUIDs as ECS sets them: those GPUs by their nvidia-smi index, the control nodes that exist, CUDA_VISIBLE_DEVICES = the UUIDs', () => {
    const r = jobGpus({ NVIDIA_VISIBLE_DEVICES: `${UUIDS[2]},${UUIDS[0]}` }, { devRoot, nvidiaSmi: smi });
    expect(names(r)).toEqual([
      ['/nvidiactl', '/dev/nvidiactl'],
      ['/nvidia-uvm', '/dev/nvidia-uvm'],
      ['/nvidia-modeset', '/dev/nvidia-modeset'],
      ['/nvidia2', '/dev/nvidia2'],
      ['/nvidia0', '/dev/nvidia0'],
    ]);
    expect(r.gpus).toEqual([{ index: 2, uuid: UUIDS[2] }, { index: 0, uuid: UUIDS[0] }]);
    expect(r.env).toEqual({ CUDA_VISIBLE_DEVICES: `${UUIDS[2]},${UUIDS[0]}` });
    expect(r.note).toMatch(/2 \(GPU-2a.*0 \(GPU-0a/);
  });

  test('indices name the same GPUs; UUIDs match whatever their case; a GPU listed twice is given once', () => {
    const r = jobGpus({ NVIDIA_VISIBLE_DEVICES: ' 3 , 1,3' }, { devRoot, nvidiaSmi: smi });
    expect(r.devices.filter((d) => /nvidia\d$/.test(d.path)).map((d) => d.path)).toEqual(['/dev/nvidia3', '/dev/nvidia1']);
    expect(r.env.CUDA_VISIBLE_DEVICES).toBe(`${UUIDS[3]},${UUIDS[1]}`);
    expect(jobGpus({ NVIDIA_VISIBLE_DEVICES: UUIDS[1].toUpperCase() }, { devRoot, nvidiaSmi: smi }).gpus).toEqual([{ index: 1, uuid: UUIDS[1] }]);
  });

  test.each([
    ['unset', undefined, /unset or empty/],
    ['empty', '', /unset or empty/],
    ['all (every GPU of a privileged container\'s instance, other jobs\' too)', 'all', /names no particular GPU.*other jobs/],
    ['ALL among others', '0,ALL', /names no particular GPU/],
    ['void', 'void', /no GPU/],
    ['none', 'none', /no GPU/],
  ])('%s: no device and no CUDA_VISIBLE_DEVICES, nvidia-smi not even asked', (_what, value, why) => {
    const r = jobGpus(value === undefined ? {} : { NVIDIA_VISIBLE_DEVICES: value }, { devRoot, nvidiaSmi: () => { throw new Error('nvidia-smi must not be asked'); } });
    expect(r).toMatchObject({ devices: [], gpus: [], env: {} });
    expect(r.note).toMatch(why);
  });

  test('a UUID or index nvidia-smi does not list, or a MIG device: a clear error naming each, no GPU given', () => {
    let err: unknown;
    try {
      jobGpus({ NVIDIA_VISIBLE_DEVICES: `GPU-ffffffff-0000-1111-2222-333344445555,7,MIG-abc,${UUIDS[0]}` }, { devRoot, nvidiaSmi: smi });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JobGpuError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/"GPU-ffffffff-0000-1111-2222-333344445555" is a GPU nvidia-smi does not list \(nvidia-smi lists 0 GPU-0a/);
    expect(msg).toMatch(/"7" is an index nvidia-smi does not list/);
    expect(msg).toMatch(/"MIG-abc" is a MIG device/);
    expect(msg).not.toMatch(/GPU-0a1b2c3d-0000-1111-2222-333344445555" is/);
    expect(msg).toMatch(/Fix: run GPU jobs with a GPU resource requirement/);
  });

  test("a GPU without its character device, or nvidia-smi failing: an error, never a guess", () => {
    const sparse = mkdtempSync(join(tmpdir(), 'uplift-gpu-dev-'));
    writeFileSync(join(sparse, 'nvidia1'), 'a regular file');
    expect(() => jobGpus({ NVIDIA_VISIBLE_DEVICES: UUIDS[1] }, { devRoot: sparse, nvidiaSmi: smi })).toThrow(/GPU 1 \(GPU-1a.*\) has no character device .*nvidia1/);
    expect(() => jobGpus({ NVIDIA_VISIBLE_DEVICES: '0' }, { devRoot, nvidiaSmi: () => { throw new JobGpuError('nvidia-smi --query-gpu=index,uuid failed'); } })).toThrow(JobGpuError);
  });
});
