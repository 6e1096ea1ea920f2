/**
 * The GPUs a GPU job may use. ECS gives each job the GPUs of its job definition's GPU resource
 * requirement and names them, by UUID, in NVIDIA_VISIBLE_DEVICES. The GPU job definitions run
 * privileged (bubblewrap needs namespaces), and a privileged container sees every GPU device node
 * of its instance: CUDA_VISIBLE_DEVICES restricts CUDA (vLLM, PyTorch) to the job's own GPUs, so
 * jobs sharing a multi-GPU instance never load a model onto each other's. Agents see no GPU at all
 * (the sandbox gives them a minimal /dev).
 */

/** NVIDIA_VISIBLE_DEVICES values that name no particular GPU. */
const NOT_A_LIST = new Set(['', 'all', 'none', 'void']);

/** The environment the launcher adds for the vLLM server and the job: CUDA_VISIBLE_DEVICES = the job's GPUs, when ECS named them. */
export function jobGpuEnv(env: Record<string, string | undefined>): { CUDA_VISIBLE_DEVICES?: string } {
  const devices = (env.NVIDIA_VISIBLE_DEVICES ?? '')
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  if (!devices.length || devices.some((d) => NOT_A_LIST.has(d.toLowerCase()))) return {};
  return { CUDA_VISIBLE_DEVICES: devices.join(',') };
}
