import { spawnSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { join, posix } from 'node:path';
import { UpliftError } from '../errors';

/** A character device the sandbox gets: the host's node `host`, at `path` inside (bubblewrap levels; elsewhere it is seen at `host`). */
export interface SandboxDevice {
  host: string;
  path: string;
}

/** Devices asked of the sandbox that it will not pass: not character devices, or not under /dev inside. */
export class SandboxDeviceError extends UpliftError {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** Names under /dev that bubblewrap's own /dev holds (or a device may never replace). */
const RESERVED = /^\/dev\/(shm|pts|mqueue|fd|stdin|stdout|stderr|ptmx|console|core)(\/|$)/;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/**
 * Every problem of a device list at once, each naming the entry and its fix: a host path that is
 * not a character device itself (a link, a regular file, a block device, nothing), an inside path
 * that is not a plain path under /dev (relative, `..`, /dev itself, where the sandbox's own /dev
 * entries live), and the same inside path twice.
 */
export function deviceProblems(devices: readonly SandboxDevice[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  devices.forEach((d, i) => {
    const at = `devices[${i}]`;
    let kind: string;
    try {
      const st = lstatSync(d.host);
      kind = st.isCharacterDevice() ? '' : st.isSymbolicLink() ? 'a symbolic link' : st.isBlockDevice() ? 'a block device' : st.isDirectory() ? 'a directory' : 'a regular or special file';
    } catch {
      kind = 'missing';
    }
    if (kind) problems.push(`${at}.host: ${d.host} is ${kind}, not a character device. Fix: name the device node itself (e.g. /dev/nvidia0), not a link to it or a file`);
    const segments = d.path.split('/').slice(2);
    if (!d.path.startsWith('/dev/') || posix.normalize(d.path) !== d.path || !segments.length || !segments.every((s) => SEGMENT.test(s)) || RESERVED.test(d.path))
      problems.push(`${at}.path: "${d.path}" is not a path under /dev the sandbox may hold a device at. Fix: an absolute path below /dev without "..", e.g. /dev/nvidia0 (not /dev/shm, /dev/pts or the standard streams)`);
    else if (seen.has(d.path)) problems.push(`${at}.path: ${d.path} is given twice. Fix: list each device once`);
    seen.add(d.path);
  });
  return problems;
}

/** Throws a {@link SandboxDeviceError} listing every problem of a device list (see deviceProblems). */
export function checkDevices(devices: readonly SandboxDevice[]): void {
  const problems = deviceProblems(devices);
  if (problems.length) throw new SandboxDeviceError(problems);
}

/** The NVIDIA driver's control nodes: every GPU process needs those that exist. */
export const NVIDIA_CONTROL_NODES = ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset'];

/** NVIDIA_VISIBLE_DEVICES values that name no particular GPU (see jobGpus). */
const NO_LIST = new Set(['', 'all', 'none', 'void']);

/** The GPUs (and their device nodes) a job may hand its agents, and why when none. */
export interface JobGpus {
  /** The control nodes that exist, then /dev/nvidia<N> of each of the job's GPUs; empty when it has none. */
  devices: SandboxDevice[];
  /** The job's GPUs: nvidia-smi index and UUID. */
  gpus: { index: number; uuid: string }[];
  /** What the agent's environment gets: CUDA_VISIBLE_DEVICES = the GPUs' UUIDs (empty when none). */
  env: Record<string, string>;
  /** One line for the transcript: the GPUs given, or why none. */
  note: string;
}

/** The job's GPUs cannot be told apart from the instance's (an unknown UUID, a missing node, nvidia-smi failing): the job fails rather than guess. */
export class JobGpuError extends UpliftError {}

/** `nvidia-smi --query-gpu=index,uuid --format=csv,noheader`, run here. */
export function nvidiaSmiIndexUuid(): string {
  const r = spawnSync('nvidia-smi', ['--query-gpu=index,uuid', '--format=csv,noheader'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) throw new JobGpuError(`nvidia-smi --query-gpu=index,uuid failed (${r.error?.message ?? `exit ${r.status}: ${(r.stderr ?? '').trim().slice(0, 300)}`}), so the job's GPUs cannot be mapped to device nodes. Fix: run GPU jobs on the NVIDIA ECS image (nvidia-smi on PATH)`);
  return r.stdout;
}

/**
 * The device nodes of the job's own GPUs, for its agents' sandboxes, from NVIDIA_VISIBLE_DEVICES
 * (which ECS sets, for a job definition with a GPU resource requirement, to the UUIDs of the GPUs
 * it assigned): a comma-separated list of GPU UUIDs (`GPU-…`) or nvidia-smi indices, each mapped
 * through `nvidia-smi --query-gpu=index,uuid` to its index N and node /dev/nvidia<N>, plus the
 * NVIDIA control nodes that exist. A GPU job's container is privileged and sees every GPU node
 * of its instance, so only GPUs the list names are ever given:
 *
 * - unset or empty: the job was assigned no GPU (a CPU job, or no GPU requirement): none;
 * - `all`: names no particular GPU — in a privileged container that is every GPU of the
 *   instance, other jobs' among them: none (the agents run on CPU);
 * - `none`, `void`: the container runtime's "no GPU": none;
 * - a UUID nvidia-smi does not list, an index it does not list, a MIG device, a GPU whose
 *   /dev/nvidia<N> is not a character device, or nvidia-smi failing: {@link JobGpuError}.
 *
 * Nodes keep their host names: the driver's library opens /dev/nvidia<minor> for the GPU of that
 * minor number, so a node renamed inside the sandbox would not be found. CUDA sees the GPUs by
 * UUID (`env.CUDA_VISIBLE_DEVICES`), which holds whatever numbering it gives them. nvidia-smi's
 * index is taken as the node's number, as the NVIDIA container toolkit does on a host whose GPUs
 * were probed in bus order (EC2's NVIDIA instances).
 */
export function jobGpus(env: Record<string, string | undefined>, opts: { devRoot?: string; nvidiaSmi?: () => string } = {}): JobGpus {
  const devRoot = opts.devRoot ?? '/dev';
  const raw = env.NVIDIA_VISIBLE_DEVICES;
  const listed = (raw ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  const none = (why: string): JobGpus => ({ devices: [], gpus: [], env: {}, note: `no GPU for the agents: ${why}` });
  if (raw === undefined || !listed.length) return none('NVIDIA_VISIBLE_DEVICES is unset or empty (the job was assigned no GPU)');
  const special = listed.find((d) => NO_LIST.has(d.toLowerCase()));
  if (special?.toLowerCase() === 'all') return none('NVIDIA_VISIBLE_DEVICES=all names no particular GPU, and in a privileged container that is every GPU of the instance, other jobs\' among them');
  if (special) return none(`NVIDIA_VISIBLE_DEVICES=${raw} (no GPU)`);
  const table = (opts.nvidiaSmi ?? nvidiaSmiIndexUuid)()
    .split('\n')
    .map((l) => l.split(',').map((x) => x.trim()))
    .filter((f) => f.length >= 2 && /^\d+$/.test(f[0]) && f[1])
    .map((f) => ({ index: Number(f[0]), uuid: f[1] }));
  const problems: string[] = [];
  const gpus: JobGpus['gpus'] = [];
  for (const d of listed) {
    const gpu = /^\d+$/.test(d) ? table.find((g) => g.index === Number(d)) : table.find((g) => g.uuid.toLowerCase() === d.toLowerCase());
    if (!gpu) {
      const what = /^MIG-|:/.test(d) ? 'a MIG device, which the sandbox cannot pass (its nodes live under /dev/nvidia-caps)' : /^\d+$/.test(d) ? 'an index nvidia-smi does not list' : 'a GPU nvidia-smi does not list';
      problems.push(`NVIDIA_VISIBLE_DEVICES: "${d}" is ${what} (nvidia-smi lists ${table.map((g) => `${g.index} ${g.uuid}`).join(', ') || 'no GPU'})`);
      continue;
    }
    if (gpus.some((g) => g.index === gpu.index)) continue;
    try {
      if (!lstatSync(join(devRoot, `nvidia${gpu.index}`)).isCharacterDevice()) throw new Error('not a character device');
    } catch {
      problems.push(`NVIDIA_VISIBLE_DEVICES: GPU ${gpu.index} (${gpu.uuid}) has no character device ${join(devRoot, `nvidia${gpu.index}`)}`);
      continue;
    }
    gpus.push(gpu);
  }
  if (problems.length) throw new JobGpuError(`the job's GPUs cannot be told apart from the instance's, so none is given to an agent:\n${problems.join('\n')}\nFix: run GPU jobs with a GPU resource requirement, which makes ECS name the job's GPUs (their UUIDs) in NVIDIA_VISIBLE_DEVICES`);
  const controls = NVIDIA_CONTROL_NODES.filter((n) => {
    try {
      return lstatSync(join(devRoot, n)).isCharacterDevice();
    } catch {
      return false;
    }
  });
  const devices = [...controls, ...gpus.map((g) => `nvidia${g.index}`)].map((n) => ({ host: join(devRoot, n), path: `/dev/${n}` }));
  return { devices, gpus, env: { CUDA_VISIBLE_DEVICES: gpus.map((g) => g.uuid).join(',') }, note: `the job's GPUs for the agents: ${gpus.map((g) => `${g.index} (${g.uuid})`).join(', ')}; device nodes ${devices.map((d) => d.path).join(', ')}` };
}
