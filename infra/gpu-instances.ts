/**
 * The NVIDIA instance types the GPU compute environment may launch, and how a GPU job's size
 * picks them. No CDK import: the config validation and the pricing output use it too.
 */

/** NVIDIA x86 GPU families the GPU compute environment may launch (the AL2023 NVIDIA ECS AMI supports them). */
export const GPU_INSTANCE_CLASSES = ['g4dn', 'g5', 'g6', 'g6e', 'p4d', 'p4de', 'p5', 'p5e', 'p5en'] as const;
export type GpuInstanceClass = (typeof GPU_INSTANCE_CLASSES)[number];

/** vCPUs, memory (GiB) and NVIDIA GPUs of an instance size. */
type Shape = readonly [size: string, vcpus: number, memoryGiB: number, gpus: number];

/** The sizes of each class, smallest first (AWS instance type specifications). */
export const GPU_INSTANCE_SIZES: Record<GpuInstanceClass, readonly Shape[]> = {
  g4dn: [['xlarge', 4, 16, 1], ['2xlarge', 8, 32, 1], ['4xlarge', 16, 64, 1], ['8xlarge', 32, 128, 1], ['12xlarge', 48, 192, 4], ['16xlarge', 64, 256, 1], ['metal', 96, 384, 8]],
  g5: [['xlarge', 4, 16, 1], ['2xlarge', 8, 32, 1], ['4xlarge', 16, 64, 1], ['8xlarge', 32, 128, 1], ['12xlarge', 48, 192, 4], ['16xlarge', 64, 256, 1], ['24xlarge', 96, 384, 4], ['48xlarge', 192, 768, 8]],
  g6: [['xlarge', 4, 16, 1], ['2xlarge', 8, 32, 1], ['4xlarge', 16, 64, 1], ['8xlarge', 32, 128, 1], ['12xlarge', 48, 192, 4], ['16xlarge', 64, 256, 1], ['24xlarge', 96, 384, 4], ['48xlarge', 192, 768, 8]],
  g6e: [['xlarge', 4, 32, 1], ['2xlarge', 8, 64, 1], ['4xlarge', 16, 128, 1], ['8xlarge', 32, 256, 1], ['12xlarge', 48, 384, 4], ['16xlarge', 64, 512, 1], ['24xlarge', 96, 768, 4], ['48xlarge', 192, 1536, 8]],
  p4d: [['24xlarge', 96, 1152, 8]],
  p4de: [['24xlarge', 96, 1152, 8]],
  p5: [['48xlarge', 192, 2048, 8]],
  p5e: [['48xlarge', 192, 2048, 8]],
  p5en: [['48xlarge', 192, 2048, 8]],
};

/** Memory the ECS agent and the OS keep on an instance: a job may ask for the rest. */
export const INSTANCE_RESERVED_MIB = 2048;

export interface GpuJobSize {
  readonly instanceClasses: readonly GpuInstanceClass[];
  readonly vcpusPerJob: number;
  readonly memoryMiBPerJob: number;
  readonly gpusPerJob: number;
}

/** The smallest size of a class that runs one job of this size, or undefined when none does. */
export function smallestFit(cls: GpuInstanceClass, job: Omit<GpuJobSize, 'instanceClasses'>): string | undefined {
  const shapes = [...GPU_INSTANCE_SIZES[cls]].sort((a, b) => a[1] - b[1]);
  const fit = shapes.find(([, vcpus, gib, gpus]) => vcpus >= job.vcpusPerJob && gib * 1024 - INSTANCE_RESERVED_MIB >= job.memoryMiBPerJob && gpus >= job.gpusPerJob);
  return fit ? `${cls}.${fit[0]}` : undefined;
}

/**
 * The instance types the GPU compute environment launches: for each configured class, the
 * smallest size that runs one job (its vCPUs, memory and GPUs). Pinned types, not families: Batch
 * never picks a larger, dearer size, and the price of a GPU job is known (the dearest of them).
 * Classes where no size fits are left out (the config validation reports them).
 */
export function gpuInstanceTypes(job: GpuJobSize): string[] {
  return job.instanceClasses.map((c) => smallestFit(c, job)).filter((t): t is string => t !== undefined);
}
