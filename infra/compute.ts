/**
 * What a deployed stack's jobs run on, from its config alone. No CDK import (only config types and
 * gpu-instances.ts): the stack's `JobCompute` output and `uplift plan --stack-config` both use it.
 */
import type { ComputeTargets } from '../core/pricing';
import type { UpliftConfig } from './config';
import { gpuInstanceTypes } from './gpu-instances';

/**
 * What one job of each queue runs on, as the price table knows it: a Fargate task of the CPU job
 * size, and the instance types the GPU and images compute environments pin (priced at the dearest;
 * an image job has a whole instance to itself in the worst case only if one job fills it, so this
 * is an upper bound).
 */
export function jobCompute(config: Pick<UpliftConfig, 'cpu' | 'gpu' | 'images'>): ComputeTargets {
  const cpu = { kind: 'fargate' as const, vcpus: config.cpu.vcpusPerJob, memoryMiB: config.cpu.memoryMiBPerJob };
  return {
    cpu,
    gpu: config.gpu.enabled ? { kind: 'ec2', instanceTypes: gpuInstanceTypes(config.gpu) } : cpu,
    ...(config.images.enabled ? { images: { kind: 'ec2' as const, instanceTypes: config.images.instanceTypes } } : {}),
  };
}
