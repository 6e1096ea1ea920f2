import { Duration, RemovalPolicy, Size, Stack } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import { type CfnElement, IgnoreMode, Token, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { JobTarget } from '../../step-functions/uplift-state-machine';
import { REPO_ROOT, type UpliftConfig } from '../config';
import { gpuInstanceTypes } from '../gpu-instances';
import type { ImageJobTemplate } from '../../lambdas/aws/batch-job-definitions';
import { IMAGE_PLACEHOLDER } from '../../lambdas/aws/batch-job-definitions';

/**
 * The job processes the Batch job definitions run: the same entrypoints the local runner starts
 * (cli/local/batch-pool.ts), through the vLLM launcher on the GPU queue.
 */
export const JOB_COMMANDS = {
  cpu: {
    raShard: ['node', '--import', 'tsx', 'batch-images/jobs/ra-shard.ts'],
    tlaSandbox: ['node', '--import', 'tsx', 'batch-images/jobs/tla-sandbox.ts'],
  },
  gpu: {
    raShard: ['node', '--import', 'tsx', 'batch-images/vllm/launcher.ts', 'batch-images/jobs/ra-shard.ts'],
    tlaSandbox: ['node', '--import', 'tsx', 'batch-images/vllm/launcher.ts', 'batch-images/jobs/tla-sandbox.ts'],
  },
} as const;

/** Docker build context of both images: the repository root, reduced to what the jobs run. */
export const IMAGE_CONTEXT_EXCLUDES = ['*', '!package.json', '!package-lock.json', '!tsconfig.json', '!core', '!lambdas', '!batch-images', '**/node_modules', '**/*.test.ts'];

/**
 * What an image job runs: the `ra-shard` job, which pulls its task's image (UPLIFT_TASK_IMAGE)
 * itself, verified and without running any of it (core/images), with the job role's ECR token.
 */
export const IMAGE_JOB_COMMAND = ['node', '--import', 'tsx', 'batch-images/jobs/ra-shard-image.ts'] as const;

/** Where GPU instances keep synced weights; the GPU jobs mount it, so jobs on one instance download a model once. */
export const MODEL_CACHE = { hostPath: '/var/lib/uplift/models', containerPath: '/models-cache' } as const;
/** The non-root user of both images (batch-images/Dockerfile.*). */
export const IMAGE_UID = 10001;
/** The keys a TLA job writes: its run's `tla/` (transcript, MRA, diff, result, curve plan, checkpoints, failed attempts; core/sweep/outputs.ts `tlaKey`). */
export const TLA_WRITE_KEYS = 'sweeps/*/tla/*';

/**
 * Keys of the artifacts bucket that TLA jobs may never read, whatever else they are granted (`*`
 * also matches `/`). A TLA works on the dev split only; the test split scores its MRA. So:
 * - the held-out test splits (`datasets/<cbm>/<version>/test.jsonl`) and the hidden assets of test
 *   tasks (`datasets/<cbm>/<version>/assets/test/<sha256>`, e.g. CIFAR-10's test labels);
 * - what other runs learnt on the test split, which gives its labels away as well: baseline, MRA
 *   and budget-curve shard outputs (`sweeps/<s>/runs/<r>/{baseline,mra,curve/<b>}/shard-<i>.*`,
 *   per-task scores and outputs), the per-task view (`sweeps/<s>/runs/<r>/tasks.jsonl`, with each
 *   task's target) and the reports (`sweeps/<s>/report/*`) — core/sweep/outputs.ts names them.
 */
export const TLA_DENIED_KEYS = ['datasets/*/test.jsonl', 'datasets/*/assets/test/*', 'sweeps/*/baseline/*', 'sweeps/*/mra/*', 'sweeps/*/curve/*', 'sweeps/*/tasks.jsonl', 'sweeps/*/report/*'] as const;
/** Where MRAs' weights folders are staged (`weights/<sha256>/`, marker `weights/<sha256>.json`): TLA jobs write them, GPU shard jobs read them. */
export const WEIGHTS_KEYS = 'weights/*';
/** The only prefixes a TLA job may list: uploaded models and staged weights, which a GPU TLA job's vLLM server syncs (core/models/vllm-launcher.ts); a listing of anything else could name hidden test assets. */
export const TLA_LIST_PREFIXES = ['models/*', WEIGHTS_KEYS] as const;

/** A job queue with its two job definitions, as the state machine takes them. */
export interface JobQueueTarget extends JobTarget {
  readonly queue: batch.JobQueue;
  readonly raShard: batch.EcsJobDefinition;
  readonly tlaSandbox: batch.EcsJobDefinition;
}

export interface UpliftJobsProps {
  readonly config: Pick<UpliftConfig, 'vpc' | 'gpu' | 'cpu' | 'images' | 'jobTimeouts' | 'modelEndpoints'>;
  /** The artifacts bucket: jobs read inputs from it and write outputs to `sweeps/`. */
  readonly bucket: s3.IBucket;
  /** Retention of job and VPC flow logs. */
  readonly logRetention: logs.RetentionDays;
}

/**
 * AWS Batch for Uplift's jobs: a VPC (created or imported), a GPU managed EC2 compute environment
 * (pinned NVIDIA instance types, 0 vCPUs when idle) and a Fargate one, a queue each, and
 * `ra-shard` / `tla-sandbox` job definitions in a GPU flavour (requests its GPUs, runs the vLLM
 * launcher) and a CPU flavour, both given the model API keys, with spot-interruption retries and
 * timeouts sized for the longest wall-clock budget a sweep may ask for. TLA jobs have roles of
 * their own that cannot read the test splits.
 */
export class UpliftJobs extends Construct {
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.SecurityGroup;
  readonly cpu: JobQueueTarget;
  readonly gpu?: JobQueueTarget;
  /**
   * Shard jobs of tasks that run in their own container image: the queue, and the template
   * PlanRun registers a job definition per image from (lambdas/aws/batch-job-definitions.ts).
   */
  readonly images?: { readonly queue: batch.JobQueue; readonly jobQueueArn: string; readonly template: ImageJobTemplate; readonly passRoles: iam.IRole[] };
  /** Identity of CPU `ra-shard` jobs' code: S3 reads of inputs, writes under sweeps/. */
  readonly cpuJobRole: iam.Role;
  /** Identity of GPU `ra-shard` jobs' code: as CPU, plus reading weights under models/ and MRAs' staged weights/. */
  readonly gpuJobRole: iam.Role;
  /** Identity of CPU `tla-sandbox` jobs' code: as `cpuJobRole`, with an explicit Deny on the test splits; writes only its run's tla/ and staged weights/. */
  readonly cpuTlaJobRole: iam.Role;
  /** Identity of GPU `tla-sandbox` jobs' code: as `gpuJobRole`, with an explicit Deny on the test splits. */
  readonly gpuTlaJobRole: iam.Role;
  /** Starts CPU job containers: pulls the image, writes logs, injects the API keys. */
  readonly cpuExecutionRole: iam.Role;
  /** Starts GPU job containers: as CPU. With `cpuExecutionRole`, the only readers of the API key secrets. */
  readonly gpuExecutionRole: iam.Role;
  /** Starts image-job containers (when the images queue is enabled): pulls the harness image, reads the API keys. */
  readonly imagesExecutionRole?: iam.Role;
  /** Identity of image jobs' code: as `cpuJobRole`, plus pulling task images from this account's ECR. */
  readonly imagesJobRole?: iam.Role;
  readonly apiKeys: { readonly apiKeyEnv: string; readonly secret: secretsmanager.ISecret; readonly created: boolean }[];
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: UpliftJobsProps) {
    super(scope, id);
    const { config } = props;
    this.logGroup = new logs.LogGroup(this, 'JobLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });

    // Network: jobs only reach out (ECR, S3, model APIs); nothing reaches in.
    let subnets: ec2.SubnetSelection;
    let publicIp: boolean;
    if (config.vpc.mode === 'create') {
      publicIp = config.vpc.natGateways === 0;
      const flowLogs = new logs.LogGroup(this, 'VpcFlowLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
      this.vpc = new ec2.Vpc(this, 'Vpc', {
        ipAddresses: ec2.IpAddresses.cidr(config.vpc.cidr),
        maxAzs: config.vpc.maxAzs,
        natGateways: config.vpc.natGateways,
        subnetConfiguration: publicIp
          ? [{ name: 'jobs', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 20 }]
          : [
              { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
              { name: 'jobs', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
            ],
        // S3 traffic (weights, outputs) stays off NAT and the internet, at no charge.
        gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
        flowLogs: { rejected: { trafficType: ec2.FlowLogTrafficType.REJECT, destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) } },
      });
      subnets = { subnetType: publicIp ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS };
    } else {
      publicIp = config.vpc.publicSubnets;
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: config.vpc.vpcId, availabilityZones: config.vpc.availabilityZones });
      subnets = { subnets: config.vpc.subnetIds.map((s, i) => ec2.Subnet.fromSubnetId(this, `JobSubnet${i}`, s)) };
    }
    this.securityGroup = new ec2.SecurityGroup(this, 'JobsSecurityGroup', { vpc: this.vpc, description: 'Uplift Batch jobs: outbound only', allowAllOutbound: true });

    // Roles: the jobs' code (job roles) and the container start-up (execution roles) are separate identities.
    const ecsTasks = new iam.ServicePrincipal('ecs-tasks.amazonaws.com');
    const jobRole = (rid: string, extraReads: string[], tla: boolean) => {
      const role = new iam.Role(this, rid, {
        assumedBy: ecsTasks,
        description: tla
          ? 'Uplift Batch TLA job: reads its inputs (never a test split) and writes its outputs in the artifacts bucket'
          : 'Uplift Batch job: reads its inputs and writes its outputs in the artifacts bucket',
      });
      for (const p of ['datasets/*', 'agents/*', 'sweeps/*', ...extraReads]) props.bucket.grantRead(role, p);
      // A TLA job writes only under its run's tla/ (TLA_WRITE_KEYS): it can never rewrite a baseline, an MRA's outputs or a report.
      props.bucket.grantPut(role, tla ? TLA_WRITE_KEYS : 'sweeps/*');
      if (tla) {
        // …and stages an MRA's weights folder, content-addressed (core/models/bundle-weights.ts), where the GPU shard jobs read it.
        props.bucket.grantPut(role, WEIGHTS_KEYS);
        // Explicit Denies win over the grants above, and over any grant added later.
        const deny = (sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) => role.addToPolicy(new iam.PolicyStatement({ sid, effect: iam.Effect.DENY, actions, resources, conditions }));
        const denied = TLA_DENIED_KEYS.map((k) => props.bucket.arnForObjects(k));
        // A TLA improves the agent on the dev split; the held-out test split must stay unseen by it
        // (and by the agents it runs, which could reach the job's credentials)…
        deny('TlaJobsNeverReadTestSplits', ['s3:GetObject*'], denied);
        // …nor write what scores a run…
        deny('TlaJobsNeverWriteTestResults', ['s3:PutObject*', 's3:DeleteObject*'], denied);
        // …nor list them: a listing names the hidden test assets and their sizes. A TLA job lists only model weights (TLA_LIST_PREFIXES).
        deny('TlaJobsListOnlyModelWeights', ['s3:ListBucket', 's3:ListBucketVersions'], [props.bucket.bucketArn], { StringNotLike: { 's3:prefix': [...TLA_LIST_PREFIXES] } });
      }
      return role;
    };
    this.cpuJobRole = jobRole('CpuJobRole', [], false);
    this.gpuJobRole = jobRole('GpuJobRole', ['models/*', WEIGHTS_KEYS], false);
    this.cpuTlaJobRole = jobRole('CpuTlaJobRole', [WEIGHTS_KEYS], true);
    this.gpuTlaJobRole = jobRole('GpuTlaJobRole', ['models/*', WEIGHTS_KEYS], true);
    this.cpuExecutionRole = new iam.Role(this, 'CpuExecutionRole', { assumedBy: ecsTasks, description: 'Starts Uplift CPU job containers; with the GPU one, the only reader of the model API key secrets' });
    this.gpuExecutionRole = new iam.Role(this, 'GpuExecutionRole', { assumedBy: ecsTasks, description: 'Starts Uplift GPU job containers; with the CPU one, the only reader of the model API key secrets' });
    if (config.images.enabled)
      this.imagesExecutionRole = new iam.Role(this, 'ImagesExecutionRole', { assumedBy: ecsTasks, description: 'Starts Uplift image-job containers (the harness); with the CPU and GPU ones, the only reader of the model API key secrets' });
    if (config.images.enabled) this.imagesJobRole = jobRole('ImagesJobRole', [], false);
    const keyReaders = [this.cpuExecutionRole, ...(config.gpu.enabled ? [this.gpuExecutionRole] : []), ...(this.imagesExecutionRole ? [this.imagesExecutionRole] : [])];

    // Model API keys: injected into every job's environment (CPU and GPU: a GPU run's TLA may call
    // an API model), where only the model gateway reads them.
    this.apiKeys = config.modelEndpoints.map((e) => {
      const sid = `ApiKey${e.apiKeyEnv.toLowerCase().replace(/(^|_)([a-z0-9])/g, (_m, _u, c: string) => c.toUpperCase())}`;
      if (e.secretName) return { apiKeyEnv: e.apiKeyEnv, secret: secretsmanager.Secret.fromSecretNameV2(this, sid, e.secretName), created: false };
      const secret = new secretsmanager.Secret(this, sid, {
        description: `Uplift: the API key jobs get as ${e.apiKeyEnv} (model gateway only). Set it with: aws secretsmanager put-secret-value --secret-id <this secret> --secret-string <key>`,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      secret.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'OnlyTheJobExecutionRolesReadTheValue',
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['secretsmanager:GetSecretValue'],
          resources: ['*'],
          // Denied unless the caller is one of them (StringNotEquals with a list: equal to none).
          conditions: { StringNotEquals: { 'aws:PrincipalArn': keyReaders.length === 1 ? keyReaders[0].roleArn : keyReaders.map((r) => r.roleArn) } },
        }),
      );
      return { apiKeyEnv: e.apiKeyEnv, secret, created: true };
    });
    const apiKeySecrets = Object.fromEntries(this.apiKeys.map((k) => [k.apiKeyEnv, batch.Secret.fromSecretsManager(k.secret)]));

    const assetProps = (iid: string, file: string) => ({ file, platform: Platform.LINUX_AMD64, exclude: IMAGE_CONTEXT_EXCLUDES, ignoreMode: IgnoreMode.DOCKER, assetName: iid });
    const image = (iid: string, file: string) => ecs.ContainerImage.fromAsset(REPO_ROOT, assetProps(iid, file));
    // The same asset as the CPU image (same source and options: one image in ECR), for the image-job template.
    const cpuImageAsset = () => new DockerImageAsset(this, 'ImageJobsHarness', { directory: REPO_ROOT, ...assetProps('uplift-cpu-runner', 'batch-images/Dockerfile.cpu') });
    const retries = {
      retryAttempts: 3,
      retryStrategies: [
        // EC2 Spot reclaimed the instance ("Host EC2 (instance i-…) terminated.").
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
        // Fargate Spot interrupted the task.
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.custom({ onStatusReason: 'Your Spot Task was interrupted*' })),
        // Anything else is the job's own failure: the state machine records it (retrying would repeat it).
        batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom({ onReason: '*' })),
      ],
    };
    const logging = (prefix: string) => ecs.LogDriver.awsLogs({ logGroup: this.logGroup, streamPrefix: prefix });
    const region = { AWS_REGION: Stack.of(this).region };
    const queueLimits: batch.JobStateTimeLimitAction[] = [
      // A job no compute environment can run would otherwise wait forever.
      { maxTime: Duration.minutes(10), reason: batch.JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT },
      { maxTime: Duration.minutes(30), reason: batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE },
      { maxTime: Duration.hours(4), reason: batch.JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY },
    ];
    const t = config.jobTimeouts;

    // CPU: Fargate, for API and offline models.
    const cpuCompute = new batch.FargateComputeEnvironment(this, 'CpuCompute', { vpc: this.vpc, vpcSubnets: subnets, securityGroups: [this.securityGroup], maxvCpus: config.cpu.maxvCpus, spot: config.cpu.spot });
    const cpuImage = image('uplift-cpu-runner', 'batch-images/Dockerfile.cpu');
    const cpuContainer = (cid: string, command: readonly string[], prefix: string, jobRole: iam.IRole) =>
      new batch.EcsFargateContainerDefinition(this, cid, {
        image: cpuImage,
        cpu: config.cpu.vcpusPerJob,
        memory: Size.mebibytes(config.cpu.memoryMiBPerJob),
        ephemeralStorageSize: Size.gibibytes(config.cpu.ephemeralStorageGiB),
        command: [...command],
        // The harness runs as root so the sandbox can give each agent a fresh unprivileged uid
        // (Fargate allows no namespaces: level uid-rlimits, required by UPLIFT_SANDBOX_MIN).
        user: '0',
        environment: { ...region, UPLIFT_SANDBOX_MIN: 'uid-rlimits' },
        secrets: apiKeySecrets,
        jobRole,
        executionRole: this.cpuExecutionRole,
        assignPublicIp: publicIp,
        fargatePlatformVersion: ecs.FargatePlatformVersion.LATEST,
        logging: logging(prefix),
      });
    const cpuQueue = new batch.JobQueue(this, 'CpuQueue', { computeEnvironments: [{ computeEnvironment: cpuCompute, order: 1 }], priority: 1, jobStateTimeLimitActions: queueLimits });
    const cpuRaShard = new batch.EcsJobDefinition(this, 'RaShardCpu', { container: cpuContainer('RaShardCpuContainer', JOB_COMMANDS.cpu.raShard, 'ra-shard-cpu', this.cpuJobRole), timeout: Duration.seconds(t.shardSeconds), propagateTags: true, ...retries });
    const cpuTla = new batch.EcsJobDefinition(this, 'TlaSandboxCpu', { container: cpuContainer('TlaSandboxCpuContainer', JOB_COMMANDS.cpu.tlaSandbox, 'tla-sandbox-cpu', this.cpuTlaJobRole), timeout: Duration.seconds(t.tlaSeconds), propagateTags: true, ...retries });
    this.cpu = { queue: cpuQueue, raShard: cpuRaShard, tlaSandbox: cpuTla, jobQueueArn: cpuQueue.jobQueueArn, raShardJobDefinitionArn: cpuRaShard.jobDefinitionArn, tlaSandboxJobDefinitionArn: cpuTla.jobDefinitionArn };

    if (config.images.enabled) this.images = this.imageJobs(config, subnets, queueLimits, Object.fromEntries(this.apiKeys.map((k) => [k.apiKeyEnv, k.secret.secretArn])), cpuImageAsset(), props.bucket);

    if (!config.gpu.enabled) return;
    // GPU: managed EC2 with NVIDIA instances, for models served by vLLM on the job's GPU(s).
    const userData = new ec2.MultipartUserData();
    const shell = ec2.UserData.forLinux();
    shell.addCommands(`mkdir -p ${MODEL_CACHE.hostPath}`, `chown ${IMAGE_UID}:${IMAGE_UID} ${MODEL_CACHE.hostPath}`);
    userData.addUserDataPart(shell, ec2.MultipartBody.SHELL_SCRIPT, true);
    const launchTemplate = new ec2.LaunchTemplate(this, 'GpuLaunchTemplate', {
      userData,
      requireImdsv2: true,
      // Containers (one network hop further) cannot reach the instance's credentials.
      httpPutResponseHopLimit: 1,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(config.gpu.rootVolumeGiB, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true, deleteOnTermination: true }) }],
    });
    const gpuCompute = new batch.ManagedEc2EcsComputeEnvironment(this, 'GpuCompute', {
      vpc: this.vpc,
      vpcSubnets: subnets,
      securityGroups: [this.securityGroup],
      minvCpus: 0,
      maxvCpus: config.gpu.maxvCpus,
      spot: config.gpu.spot,
      allocationStrategy: config.gpu.spot ? batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED : batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
      // Pinned types (the smallest size of each class that runs one job), not families: Batch
      // never scales out on a larger, dearer size, and the price of a GPU job is known.
      instanceTypes: gpuInstanceTypes(config.gpu).map((t) => new ec2.InstanceType(t)),
      useOptimalInstanceClasses: false,
      images: [{ imageType: batch.EcsMachineImageType.ECS_AL2023_NVIDIA }],
      launchTemplate,
    });
    const gpuImage = image('uplift-gpu-runner', 'batch-images/Dockerfile.gpu');
    const linuxParameters = new batch.LinuxParameters(this, 'GpuLinuxParameters', { sharedMemorySize: Size.gibibytes(8) });
    const gpuContainer = (cid: string, command: readonly string[], prefix: string, jobRole: iam.IRole) =>
      new batch.EcsEc2ContainerDefinition(this, cid, {
        image: gpuImage,
        cpu: config.gpu.vcpusPerJob,
        memory: Size.mebibytes(config.gpu.memoryMiBPerJob),
        // A GPU resource requirement: ECS assigns the job its own GPUs and names them in
        // NVIDIA_VISIBLE_DEVICES; the launcher restricts vLLM to them (CUDA_VISIBLE_DEVICES), since
        // a privileged container could otherwise open every GPU of the instance.
        gpu: config.gpu.gpusPerJob,
        command: [...command],
        // bubblewrap needs namespaces, which Docker's default seccomp profile denies: the harness
        // runs as root in a privileged container and every agent inside bwrap (level bwrap, required).
        user: '0',
        privileged: true,
        environment: { ...region, UPLIFT_SANDBOX_MIN: 'bwrap', UPLIFT_MODEL_CACHE: MODEL_CACHE.containerPath, UPLIFT_VLLM_TENSOR_PARALLEL: String(config.gpu.gpusPerJob) },
        volumes: [batch.EcsVolume.host({ name: 'model-cache', hostPath: MODEL_CACHE.hostPath, containerPath: MODEL_CACHE.containerPath })],
        linuxParameters,
        secrets: apiKeySecrets,
        jobRole,
        executionRole: this.gpuExecutionRole,
        logging: logging(prefix),
      });
    const gpuQueue = new batch.JobQueue(this, 'GpuQueue', { computeEnvironments: [{ computeEnvironment: gpuCompute, order: 1 }], priority: 1, jobStateTimeLimitActions: queueLimits });
    const startup = config.gpu.startupAllowanceSeconds;
    const gpuRaShard = new batch.EcsJobDefinition(this, 'RaShardGpu', { container: gpuContainer('RaShardGpuContainer', JOB_COMMANDS.gpu.raShard, 'ra-shard-gpu', this.gpuJobRole), timeout: Duration.seconds(t.shardSeconds + startup), propagateTags: true, ...retries });
    const gpuTla = new batch.EcsJobDefinition(this, 'TlaSandboxGpu', { container: gpuContainer('TlaSandboxGpuContainer', JOB_COMMANDS.gpu.tlaSandbox, 'tla-sandbox-gpu', this.gpuTlaJobRole), timeout: Duration.seconds(t.tlaSeconds + startup), propagateTags: true, ...retries });
    this.gpu = {
      queue: gpuQueue,
      raShard: gpuRaShard,
      tlaSandbox: gpuTla,
      jobQueueArn: gpuQueue.jobQueueArn,
      raShardJobDefinitionArn: gpuRaShard.jobDefinitionArn,
      tlaSandboxJobDefinitionArn: gpuTla.jobDefinitionArn,
      // The weights sync, on top of PlanRun's attempt timeouts (which count vLLM's start-up).
      attemptAllowanceSeconds: startup,
    };
  }

  /**
   * The images queue (managed EC2, 0 vCPUs when idle) and the template of an image's job
   * definition: one container, the harness (the CPU runner image), which pulls the task's image
   * (UPLIFT_TASK_IMAGE, the image the definition is registered for) into its scratch directory
   * over the registry API — verified, and without running any of it: a task image's code never
   * runs with the job's role — and runs `ra-shard`, its agents and scorer in sandboxes whose
   * root is that tree. The harness needs bubblewrap's namespaces: privileged, level bwrap required.
   */
  private imageJobs(
    config: UpliftJobsProps['config'],
    subnets: ec2.SubnetSelection,
    queueLimits: batch.JobStateTimeLimitAction[],
    secretArns: Record<string, string>,
    harness: DockerImageAsset,
    bucket: s3.IBucket,
  ): NonNullable<UpliftJobs['images']> {
    const c = config.images;
    const executionRole = this.imagesExecutionRole as iam.Role;
    const jobRole = this.imagesJobRole as iam.Role;
    const launchTemplate = new ec2.LaunchTemplate(this, 'ImagesLaunchTemplate', {
      requireImdsv2: true,
      // Containers (one network hop further) cannot reach the instance's credentials.
      httpPutResponseHopLimit: 1,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(c.rootVolumeGiB, { volumeType: ec2.EbsDeviceVolumeType.GP3, encrypted: true, deleteOnTermination: true }) }],
    });
    const compute = new batch.ManagedEc2EcsComputeEnvironment(this, 'ImagesCompute', {
      vpc: this.vpc,
      vpcSubnets: subnets,
      securityGroups: [this.securityGroup],
      minvCpus: 0,
      maxvCpus: c.maxvCpus,
      spot: c.spot,
      allocationStrategy: c.spot ? batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED : batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
      instanceTypes: c.instanceTypes.map((t) => new ec2.InstanceType(t)),
      useOptimalInstanceClasses: false,
      images: [{ imageType: batch.EcsMachineImageType.ECS_AL2023 }],
      launchTemplate,
    });
    const queue = new batch.JobQueue(this, 'ImagesQueue', { computeEnvironments: [{ computeEnvironment: compute, order: 1 }], priority: 1, jobStateTimeLimitActions: queueLimits });
    harness.repository.grantPull(executionRole);
    // The harness container gets the API keys as secrets (the batch L2 grants this for its own definitions; this template is raw).
    for (const k of this.apiKeys) k.secret.grantRead(executionRole);
    this.logGroup.grantWrite(executionRole);
    // Task images mirrored into this account's ECR (recommended over Docker Hub's pull limits) are pulled by the harness itself, with its job role.
    jobRole.addToPolicy(new iam.PolicyStatement({ sid: 'TaskImagesEcrToken', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    jobRole.addToPolicy(
      new iam.PolicyStatement({ sid: 'TaskImagesEcrPull', actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], resources: [Stack.of(this).formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' })] }),
    );
    this.acknowledgeImagesJobRole(jobRole, bucket);
    const region = Stack.of(this).region;
    const template: ImageJobTemplate = {
      prefix: Stack.of(this).stackName,
      request: {
        type: 'container',
        platformCapabilities: ['EC2'],
        propagateTags: true,
        timeout: { attemptDurationSeconds: config.jobTimeouts.shardSeconds },
        // As the other job definitions: retry a reclaimed Spot instance, exit on anything else.
        retryStrategy: { attempts: 3, evaluateOnExit: [{ onStatusReason: 'Host EC2*', action: 'RETRY' }, { onReason: '*', action: 'EXIT' }] },
        ecsProperties: {
          taskProperties: [
            {
              taskRoleArn: jobRole.roleArn,
              executionRoleArn: executionRole.roleArn,
              containers: [
                {
                  name: 'harness',
                  image: harness.imageUri,
                  essential: true,
                  command: [...IMAGE_JOB_COMMAND],
                  user: '0',
                  privileged: true,
                  environment: [
                    { name: 'AWS_REGION', value: region },
                    { name: 'UPLIFT_SANDBOX_MIN', value: 'bwrap' },
                    // The only place the task's image goes: the harness pulls it, nothing runs it.
                    { name: 'UPLIFT_TASK_IMAGE', value: IMAGE_PLACEHOLDER },
                  ],
                  secrets: Object.entries(secretArns).map(([name, valueFrom]) => ({ name, valueFrom })),
                  resourceRequirements: [{ type: 'VCPU', value: String(c.vcpusPerJob) }, { type: 'MEMORY', value: String(c.memoryMiBPerJob) }],
                  logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': this.logGroup.logGroupName, 'awslogs-region': region, 'awslogs-stream-prefix': 'ra-shard-image' } },
                },
              ],
            },
          ],
        },
      },
    };
    return { queue, jobQueueArn: queue.jobQueueArn, template, passRoles: [jobRole, executionRole] };
  }

  /** cdk-nag findings of the image jobs' role, acknowledged where its grants are made (the other roles' are in infra/nag-suppressions.ts). */
  private acknowledgeImagesJobRole(role: iam.Role, bucket: s3.IBucket): void {
    const stack = Stack.of(this);
    const b = `<${stack.getLogicalId(bucket.node.defaultChild as CfnElement)}.Arn>`;
    const pseudo = (value: string, name: string) => (Token.isUnresolved(value) ? `<AWS::${name}>` : value);
    const repos = new Set(['arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*', `arn:${pseudo(stack.partition, 'Partition')}:ecr:${pseudo(stack.region, 'Region')}:${pseudo(stack.account, 'AccountId')}:repository/*`]);
    const ack = (ids: string[], reason: string) => Validations.of(role).acknowledge(...ids.map((id) => ({ id: `AwsSolutions-IAM5[${id}]`, reason })));
    ack(
      [...['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*'].map((a) => `Action::${a}`), ...['datasets', 'agents', 'sweeps'].map((p) => `Resource::${b}/${p}/*`)],
      'Bucket.grantRead/grantPut, as for CPU shard jobs: CDK grant sets on the key prefixes image jobs read (data sets, RA bundles, plans) and write (their outputs under sweeps/).',
    );
    ack(
      ['Resource::*', ...[...repos].map((r) => `Resource::${r}`)],
      "The harness pulls each task's own image (e.g. a SWE-bench instance image), whose repository is named only in the data set: pulls from this account's ECR (where users mirror instance images) are allowed on every repository; ecr:GetAuthorizationToken supports no resource scoping.",
    );
  }
}
