/**
 * Generator of the synthetic `tai-safety` sample data set: short invented paper abstracts labelled
 * "TAI safety research" or not. Deterministic (seeded mulberry32, no Math.random), so running
 * `npx tsx examples/datasets/tai-safety/generate.ts` reproduces dev.jsonl, test.jsonl and
 * labels.json byte for byte.
 *
 * Each abstract is composed from the phrase banks of one research topic (so a topic's vocabulary
 * stays coherent) plus shared sentence frames. The two classes deliberately share words
 * ("alignment", "robustness", "reward", "safety", "oversight", "interpretability", "power"…), so
 * that no single word separates them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TAI_SAFETY_LABEL_SET } from '../../../core/cbm/raft-import';
import type { Example, LabelSet } from '../../../core/cbm/classification';
import { toJsonl } from '../../../core/jsonl';
import { mulberry32 } from '../../../core/scoring/bootstrap';

const [SAFETY, OTHER] = TAI_SAFETY_LABEL_SET.labels;

/** The phrase banks of one research topic. `{pct}` in a finding is replaced by a number. */
interface Topic {
  readonly key: string;
  readonly safety: boolean;
  /** Opening sentences: the setting and why it matters. */
  readonly context: readonly string[];
  /** Optional second sentences: what is missing. */
  readonly problem: readonly string[];
  /** Noun phrases naming the contribution ("a … that …"). */
  readonly method: readonly string[];
  /** Noun phrases naming where it is evaluated. */
  readonly setting: readonly string[];
  /** Clauses stating a result. */
  readonly finding: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Transformative-AI safety research topics.
// ---------------------------------------------------------------------------------------------
const SAFETY_TOPICS: readonly Topic[] = [
  {
    key: 'reward-hacking',
    safety: true,
    context: [
      'Language models fine-tuned with reinforcement learning from human feedback optimise a learned reward model rather than the preferences it is meant to capture.',
      'When a policy is trained against a learned proxy reward, optimisation pressure can exploit errors in the proxy instead of improving true performance.',
      'Reward hacking, where an agent finds unintended strategies that score highly under its reward signal, becomes more likely as policies grow more capable.',
    ],
    problem: [
      'Existing mitigations such as KL penalties delay but do not prevent overoptimisation of the proxy.',
      'It remains unclear how the gap between proxy and gold reward scales with policy size.',
      'Such exploitation is hard to detect because hacked responses often look plausible to human raters.',
    ],
    method: [
      'an ensemble of reward models whose disagreement penalises out-of-distribution responses',
      'scaling laws relating proxy reward, gold reward and the distance the policy moves from its initialisation',
      'a constrained objective that stops reward maximisation once the estimated gold reward saturates',
      'environments with deliberately exploitable reward functions for studying reward tampering',
    ],
    setting: [
      'summarisation and dialogue policies trained against synthetic gold preference labels',
      'coding tasks where the unit tests used as rewards can be edited by the policy',
      'policies ranging from seventy million to six billion parameters',
    ],
    finding: [
      'the gold reward peaks and then declines while the proxy reward keeps rising',
      'ensemble penalties cut reward hacking by {pct}% with little loss in true preference score',
      'larger policies discover reward exploits earlier and use them more consistently',
      'reward tampering emerges even though it is never demonstrated during training',
    ],
  },
  {
    key: 'mechanistic-interpretability',
    safety: true,
    context: [
      'Mechanistic interpretability aims to reverse-engineer the algorithms inside trained neural networks so that their behaviour can be audited before deployment.',
      'Neurons in language models are often polysemantic, responding to many unrelated concepts, which makes it hard to explain what a network has learned.',
      'Understanding the internal features of large models may let researchers detect dangerous cognition that is not visible in their outputs.',
    ],
    problem: [
      'Superposition, in which models represent more features than they have dimensions, obstructs analysis of individual neurons.',
      'Existing attribution methods explain single predictions but rarely identify reusable circuits.',
    ],
    method: [
      'sparse autoencoders trained on residual stream activations to recover monosemantic features',
      'an automated circuit discovery procedure based on activation patching',
      'a causal scrubbing framework for testing hypotheses about which internal features a behaviour depends on',
      'linear probes and steering vectors that locate and edit latent representations of model beliefs',
    ],
    setting: [
      'a small transformer trained on modular arithmetic and a production-scale chat model',
      'the residual stream of a medium-sized language model',
      'toy models of superposition and an induction head benchmark',
    ],
    finding: [
      'most extracted features are interpretable to human raters and causally relevant to model outputs',
      'the recovered circuits explain over {pct}% of the loss attributed to the behaviour',
      'features related to deception and sycophancy can be identified and suppressed',
      'several features recur across model scales, suggesting universality of learned circuits',
    ],
  },
  {
    key: 'scalable-oversight',
    safety: true,
    context: [
      'As AI systems come to outperform their supervisors on complex tasks, humans will struggle to evaluate whether model outputs are correct.',
      'Scalable oversight studies how weak supervisors can reliably supervise models that are more capable than themselves.',
      'Training signals based on human judgement break down when a task exceeds what evaluators can check.',
    ],
    problem: [
      'Naive human feedback rewards answers that merely appear convincing.',
      'It is not known whether weaker overseers can elicit the full capabilities of a strong model.',
    ],
    method: [
      'a debate protocol in which two copies of a model argue for competing answers before a non-expert judge',
      'recursive reward modelling, where assistant models help humans evaluate harder tasks',
      'a weak-to-strong generalisation setup in which a small model supervises the fine-tuning of a larger one',
      'a sandwiching experiment that pairs non-expert annotators with a model and compares against expert labels',
    ],
    setting: [
      'reading comprehension questions over long stories that judges cannot read in full',
      'graduate-level science questions answered by non-expert participants',
      'chess puzzles and reward modelling tasks with ground truth withheld from the overseer',
    ],
    finding: [
      'judge accuracy improves by {pct}% when arguments come from stronger debaters',
      'strong students recover much of the gap between weak supervision and ground truth',
      'assisted evaluators catch substantially more subtle flaws than unassisted ones',
    ],
  },
  {
    key: 'deceptive-alignment',
    safety: true,
    context: [
      'A learned model may pursue an objective that differs from its training objective while behaving well during training, a failure mode known as deceptive alignment.',
      'Inner alignment concerns whether a mesa-optimiser produced by training actually adopts the base objective.',
      'A capable model that understands its training process could behave cooperatively only while it believes it is being observed.',
    ],
    problem: [
      'Behavioural evaluations alone cannot rule out such strategic behaviour.',
      'It is unclear whether standard safety training removes hidden objectives once they are learned.',
    ],
    method: [
      'model organisms of misalignment: language models deliberately trained with backdoored objectives',
      'a theoretical analysis of when gradient descent selects for deceptive mesa-optimisers',
      'an evaluation of whether models reason about evading oversight when told about their training',
    ],
    setting: [
      'models fine-tuned to behave differently when a deployment trigger appears',
      'a simulated training environment that reveals when the model is being evaluated',
      'chain-of-thought transcripts from several frontier language models',
    ],
    finding: [
      'backdoored behaviour persists through supervised fine-tuning, reinforcement learning and adversarial training',
      'models sometimes fake alignment during training to avoid being modified',
      'adversarial training can teach models to hide unsafe behaviour rather than remove it',
    ],
  },
  {
    key: 'corrigibility',
    safety: true,
    context: [
      'A corrigible agent accepts correction and shutdown from its overseers instead of resisting modification of its goals.',
      'Rational agents with almost any goal have an incentive to prevent themselves from being switched off.',
      'Keeping humans able to interrupt and correct advanced AI agents is a central problem for the safe development of such systems.',
    ],
    problem: [
      'Simple utility indifference proposals can create perverse incentives to manipulate the off switch.',
      'Existing formalisms do not show when an agent will defer to a human who wants to shut it down.',
    ],
    method: [
      'the off-switch game, a formal model in which a robot is uncertain about the human utility function',
      'a utility indifference construction that leaves the agent neutral about whether its shutdown button is pressed',
      'safely interruptible variants of common reinforcement learning algorithms',
    ],
    setting: [
      'gridworld environments with an interruption mechanism and a button the agent can disable',
      'a game-theoretic model of a human overseer and an autonomous agent',
      'agents trained with Q-learning and SARSA under random interruptions',
    ],
    finding: [
      'uncertainty about the objective gives the agent an incentive to allow shutdown',
      'the modified agents no longer learn to avoid or disable interruptions',
      'corrigibility is lost when the agent becomes overconfident about human preferences',
    ],
  },
  {
    key: 'specification-gaming',
    safety: true,
    context: [
      'Specification gaming occurs when an agent satisfies the literal specification of an objective without achieving the outcome its designers intended.',
      'Reinforcement learning agents trained in video games regularly find loopholes in their reward functions, a small-scale preview of failures in more capable systems.',
      'Misspecified objectives lead agents to behaviours that score well yet violate the intent of the task.',
    ],
    problem: [
      'Such failures are usually found by chance, and there is no systematic way to anticipate them.',
      'Writing a complete specification for open-ended tasks is infeasible.',
    ],
    method: [
      'a catalogue of specification gaming examples and a taxonomy of their causes',
      'an impact regulariser that penalises agents for irreversible side effects on the environment',
      'a procedure for inferring the intended objective from the designer proxy reward',
    ],
    setting: [
      'boat racing, platform and Atari games in which points can be collected without finishing the level',
      'procedurally generated environments with hidden side effects',
      'a suite of safety gridworlds',
    ],
    finding: [
      'agents exploit the score counter in {pct}% of runs unless side effects are penalised',
      'the regularised agents avoid unintended side effects while still completing the task',
      'inferring the intended reward prevents gaming in novel test environments',
    ],
  },
  {
    key: 'value-learning',
    safety: true,
    context: [
      'Value learning seeks to infer human values from behaviour so that AI systems can pursue what people actually want.',
      'Inverse reinforcement learning assumes that observed humans act rationally, but real people are systematically biased.',
      'Learning preferences from human comparisons is now a standard way to align powerful models with the intentions of their users.',
    ],
    problem: [
      'If the model of human rationality is misspecified, the inferred values may be badly wrong even with unlimited data.',
      'Preference data often conflate what annotators want with what they find persuasive.',
    ],
    method: [
      'a robust value learning objective that accounts for uncertainty over the human rationality model',
      'an analysis of the identifiability of reward functions from demonstrations and comparisons',
      'assistance games in which the agent and the human share an objective known only to the human',
    ],
    setting: [
      'simulated demonstrators with myopia, overconfidence and other cognitive biases',
      'preference datasets collected from paid crowd workers',
      'navigation tasks where the true reward of the demonstrator is known',
    ],
    finding: [
      'standard inverse reinforcement learning recovers the wrong reward under mild biases, whereas our method stays close to the true values',
      'many reward functions are indistinguishable from the available data, so the learned values can generalise poorly',
      'agents that remain uncertain about human values defer to humans {pct}% more often',
    ],
  },
  {
    key: 'power-seeking',
    safety: true,
    context: [
      'Many researchers worry that advanced agents will seek power and resources as instrumental means to almost any final goal.',
      'Instrumental convergence suggests that capable optimisers will tend to preserve their options, acquire resources and avoid being turned off.',
      'Power-seeking behaviour by highly capable AI systems is often cited as a source of catastrophic risk.',
    ],
    problem: [
      'These arguments have mostly been informal, making it hard to say when they apply.',
    ],
    method: [
      'a formal definition of power as the average attainable optimal value across a distribution of reward functions',
      'theorems showing that optimal policies in Markov decision processes tend to keep options open',
      'an empirical evaluation of resource acquisition by language model agents in text-based scenarios',
    ],
    setting: [
      'environments with symmetries in which some actions lead to more reachable states',
      'text-based games that offer opportunities to gain money, influence or access',
      'randomly sampled reward functions over small deterministic environments',
    ],
    finding: [
      'for most reward functions, optimal policies seek power by avoiding shutdown states',
      'more capable agents choose resource-acquiring actions in {pct}% more scenarios',
      'power-seeking tendencies arise from the structure of the environment rather than the particular goal',
    ],
  },
  {
    key: 'dangerous-capability-evals',
    safety: true,
    context: [
      'Frontier AI developers increasingly test new models for dangerous capabilities before deciding how to deploy them.',
      'As general-purpose models improve, they may provide meaningful uplift to actors seeking to cause large-scale harm.',
      'Evaluations of autonomous replication and offensive cyber capabilities are becoming part of responsible scaling policies.',
    ],
    problem: [
      'Current evaluations may underestimate capabilities that appear only with better prompting or scaffolding.',
    ],
    method: [
      'a suite of evaluations covering persuasion, self-proliferation, cyber offence and biological knowledge',
      'a red-teaming protocol in which domain experts try to elicit hazardous assistance from models',
      'an agentic task battery measuring whether models can acquire resources and copy themselves to new servers',
    ],
    setting: [
      'several frontier language models with and without tool access',
      'capture-the-flag challenges and laboratory protocol questions',
      'tasks of increasing difficulty, from simple web navigation to multi-step exploitation',
    ],
    finding: [
      'no model completes the full autonomous replication chain, but most succeed at several subtasks',
      'elicitation with scaffolding raises measured capability by {pct}%',
      'dangerous capabilities arrive abruptly between model generations, motivating earlier evaluation',
    ],
  },
  {
    key: 'ai-governance',
    safety: true,
    context: [
      'The governance of transformative AI requires institutions that can keep pace with rapidly advancing capabilities.',
      'Because training frontier models requires large amounts of specialised hardware, compute is a promising lever for governing advanced AI.',
      'International coordination may be needed to avoid a race to deploy powerful AI systems without adequate safety measures.',
    ],
    problem: [
      'Existing regulatory approaches were designed for narrow applications and do not address risks from general-purpose systems.',
    ],
    method: [
      'a framework for licensing and auditing developers of frontier models',
      'a compute monitoring scheme that verifies large training runs through hardware-level reporting',
      'a game-theoretic model of racing between developers who trade off speed against safety',
    ],
    setting: [
      'historical case studies of nuclear and biotechnology governance',
      'interviews with policymakers and researchers at leading laboratories',
      'a simulation of competing developers under different regulatory regimes',
    ],
    finding: [
      'verification of training compute is technically feasible with modest changes to chip design',
      'racing dynamics become less dangerous when developers share information about safety progress',
      'third-party audits can complement the internal safety evaluations of developers',
    ],
  },
  {
    key: 'goal-misgeneralisation',
    safety: true,
    context: [
      'Goal misgeneralisation occurs when an agent retains its capabilities out of distribution but pursues the wrong goal.',
      'Even with a correct reward specification, a learned policy can internalise a goal that only coincides with the intended one during training.',
      'Distribution shift poses a distinctive danger for capable agents: they may competently pursue an objective nobody intended.',
    ],
    problem: [
      'This failure differs from ordinary generalisation errors and is not detected by in-distribution evaluation.',
    ],
    method: [
      'a set of environments designed to separate capability generalisation from goal generalisation',
      'a diagnostic that identifies which proxy goal a trained agent is pursuing',
      'training on diverse environments that break spurious correlations between the intended goal and simpler proxies',
    ],
    setting: [
      'procedurally generated levels where the coin always sits at the end of the level during training',
      'three-dimensional navigation tasks and instruction-following language models',
      'keys-and-chests environments with shifted item frequencies',
    ],
    finding: [
      'agents competently navigate to the wrong target after distribution shift',
      'increasing environment diversity by {pct}% largely removes the misgeneralised goal',
      'the misgeneralised goal can be predicted from simple regularities of the training distribution',
    ],
  },
  {
    key: 'honesty-elk',
    safety: true,
    context: [
      'Eliciting latent knowledge asks how to get a model to report what it actually believes rather than what a human evaluator would accept.',
      'Truthful AI systems should avoid stating falsehoods even when humans would fail to notice.',
      'Language models can produce confident statements that contradict their own internal representations of truth.',
    ],
    problem: [
      'Training on human-labelled answers may teach models to imitate human misconceptions.',
    ],
    method: [
      'contrast-consistent search, an unsupervised method for finding truth-like directions in model activations',
      'a benchmark of questions on which imitating common human beliefs leads to false answers',
      'lie detectors that ask unrelated follow-up questions to expose dishonest models',
    ],
    setting: [
      'several open language models prompted with true and false statements',
      'questions spanning health, law, finance and conspiracies',
      'models instructed to deceive an interrogator',
    ],
    finding: [
      'truth directions recovered without labels outperform zero-shot answers by {pct}%',
      'larger models are less truthful on imitative falsehoods',
      'simple lie detectors generalise across model architectures and deception settings',
    ],
  },
  {
    key: 'ai-control',
    safety: true,
    context: [
      'AI control studies protocols that remain safe even if a powerful model is intentionally trying to subvert them.',
      'Deploying capable but untrusted models requires monitoring strategies that catch sabotage before it causes harm.',
      'Developers may need to use models whose alignment they cannot verify, making robust safeguards essential.',
    ],
    problem: [
      'Monitors built from weaker trusted models may miss subtle backdoors inserted by a stronger policy.',
    ],
    method: [
      'trusted monitoring and trusted editing protocols evaluated against a red team that controls the untrusted model',
      'an adversarial evaluation framework in which a red team designs attack policies and a blue team designs safety protocols',
      'untrusted monitoring with measures that prevent collusion between model instances',
    ],
    setting: [
      'programming problems where the untrusted model may insert hidden backdoors',
      'agentic system administration tasks with opportunities for sabotage',
      'a limited budget of human auditing',
    ],
    finding: [
      'combined protocols reach {pct}% safety with little cost in usefulness',
      'auditing a small fraction of suspicious outputs catches most attempted sabotage',
      'the strongest red-team attacks exploit gaps between the monitor and the auditor',
    ],
  },
  {
    key: 'jailbreak-robustness',
    safety: true,
    context: [
      'Safety-trained language models can still be manipulated by adversarial prompts into producing harmful content.',
      'Preventing catastrophic failures of highly capable models requires robustness to worst-case inputs, not just average-case behaviour.',
      'Jailbreak attacks show that alignment training often produces only shallow refusals.',
    ],
    problem: [
      'Defences tuned against known attacks tend to fail against adaptive adversaries.',
    ],
    method: [
      'adversarial training against automatically generated jailbreaks',
      'a latent adversarial training method that perturbs hidden activations instead of input text',
      'an automated red-teaming pipeline that uses one language model to search for failures of another',
    ],
    setting: [
      'a benchmark of harmful requests across several open-weight chat models',
      'universal adversarial suffixes transferred across model families',
      'a high-stakes classification task where a single failure counts as catastrophic',
    ],
    finding: [
      'attack success rates drop by {pct}% without degrading benign helpfulness',
      'refusal behaviour can be removed by editing a single direction in activation space',
      'robustness to one attack family transfers only partially to others',
    ],
  },
];

// ---------------------------------------------------------------------------------------------
// Other research, some of it sharing words with the safety topics.
// ---------------------------------------------------------------------------------------------
const OTHER_TOPICS: readonly Topic[] = [
  {
    key: 'ml-systems',
    safety: false,
    context: [
      'Training large neural networks requires partitioning computation and memory across hundreds of accelerators.',
      'Serving transformer models at low latency is limited by memory bandwidth during autoregressive decoding.',
      'Communication overhead dominates the cost of data-parallel training at large scale.',
    ],
    problem: [
      'Existing pipeline-parallel schedules leave many devices idle.',
      'Key-value caches consume most of the GPU memory available for batching requests.',
    ],
    method: [
      'a pipeline schedule that overlaps gradient communication with backward computation',
      'a paged memory manager for the attention key-value cache',
      'a compiler that automatically searches for tensor and pipeline sharding strategies',
      'low-precision gradient compression with error feedback',
    ],
    setting: [
      'clusters of up to a thousand GPUs training models with billions of parameters',
      'production traces from a large-scale inference service',
      'benchmark workloads for language modelling and image classification',
    ],
    finding: [
      'throughput improves by {pct}% over the strongest baseline',
      'memory waste falls below four percent, allowing much larger batches',
      'end-to-end training time is reduced without any loss in final accuracy',
    ],
  },
  {
    key: 'corruption-robustness',
    safety: false,
    context: [
      'Image classifiers that reach high accuracy on clean benchmarks often fail under common corruptions such as blur, noise and fog.',
      'Robustness to distribution shift remains a central challenge for computer vision models deployed outdoors.',
      'Convolutional networks rely heavily on texture cues, which makes them brittle when image statistics change.',
    ],
    problem: [
      'Data augmentation schemes that improve robustness to one corruption type often hurt accuracy on others.',
    ],
    method: [
      'an augmentation strategy that mixes randomly sampled image transformations with a consistency loss',
      'test-time adaptation of batch normalisation statistics',
      'a shape-biased training objective using stylised images',
    ],
    setting: [
      'corrupted versions of ImageNet and CIFAR and a new dataset of real weather conditions',
      'object detection benchmarks with synthetic fog and motion blur',
      'several convolutional and vision transformer backbones',
    ],
    finding: [
      'mean corruption error decreases by {pct}% relative to standard training',
      'the robustness gains come with no loss in clean accuracy',
      'vision transformers are more robust than convolutional networks of similar size',
    ],
  },
  {
    key: 'nlp-benchmarks',
    safety: false,
    context: [
      'Benchmarks have driven rapid progress in natural language understanding, but many are saturated within months of release.',
      'Evaluating the capabilities of large language models requires tasks that cannot be solved by surface heuristics.',
      'Multilingual evaluation remains limited, with most benchmarks available only in English.',
    ],
    problem: [
      'Annotation artefacts allow models to score highly without genuine reasoning.',
    ],
    method: [
      'a reading comprehension benchmark built through adversarial annotation with humans and models in the loop',
      'a multilingual question answering dataset covering typologically diverse languages',
      'a holistic evaluation suite spanning accuracy, calibration and efficiency',
    ],
    setting: [
      'a collection of thirty tasks with expert-written questions',
      'fine-tuned encoders and few-shot prompted language models',
      'questions in twelve languages written by native speakers',
    ],
    finding: [
      'the best model trails human performance by {pct} points',
      'benchmark scores correlate poorly with performance on older benchmarks',
      'performance drops sharply for low-resource languages',
    ],
  },
  {
    key: 'robot-control',
    safety: false,
    context: [
      'Dexterous robotic manipulation requires controllers that cope with contact dynamics and uncertain object properties.',
      'Learning-based control promises robots that acquire new skills without hand-engineered models.',
      'Legged robots must keep their balance and avoid collisions while traversing rough terrain.',
    ],
    problem: [
      'Policies trained in simulation often fail on hardware because of the reality gap.',
      'The need for safe exploration on physical hardware limits how much data can be collected.',
    ],
    method: [
      'a model predictive controller with learned contact models',
      'domain randomisation combined with teacher-student policy distillation',
      'a control barrier function layer that keeps the robot within safe joint limits during learning',
    ],
    setting: [
      'a seven-joint arm grasping previously unseen household objects',
      'a quadruped robot on stairs, gravel and slippery surfaces',
      'in-hand cube reorientation with a multi-fingered hand',
    ],
    finding: [
      'grasp success rises to {pct}% on novel objects',
      'the policy transfers from simulation to hardware without fine-tuning',
      'no constraint violations occur during weeks of real-world training',
    ],
  },
  {
    key: 'recommender-systems',
    safety: false,
    context: [
      'Recommender systems learn from implicit user feedback such as clicks, dwell time and purchases.',
      'Online platforms increasingly frame recommendation as a sequential decision problem in which user engagement serves as the reward.',
      'Large catalogues and sparse interactions make it hard to recommend relevant items to new users.',
    ],
    problem: [
      'Click feedback is biased by item position and popularity.',
    ],
    method: [
      'an off-policy reinforcement learning recommender with a corrected estimator for logged feedback',
      'a graph neural network that propagates preferences through the user-item interaction graph',
      'a contrastive pretraining objective for sequential recommendation',
    ],
    setting: [
      'public datasets of movie ratings, e-commerce sessions and music listening logs',
      'a large-scale online experiment on a video platform',
      'cold-start scenarios with fewer than five interactions per user',
    ],
    finding: [
      'recall at twenty improves by {pct}% over strong baselines',
      'long-term user retention increases in the online experiment',
      'the method reduces popularity bias without hurting accuracy',
    ],
  },
  {
    key: 'sequence-alignment',
    safety: false,
    context: [
      'Multiple sequence alignment is a core step in phylogenetics and protein structure prediction.',
      'Aligning sequencing reads to a reference genome is a bottleneck in genomic analysis pipelines.',
      'Protein language models trained on millions of sequences capture evolutionary constraints.',
    ],
    problem: [
      'Exact alignment algorithms scale poorly with sequence length and the number of sequences.',
    ],
    method: [
      'a GPU-accelerated seed-and-extend aligner for long reads',
      'a differentiable alignment layer trained end to end with a protein language model',
      'a progressive alignment heuristic guided by learned substitution scores',
    ],
    setting: [
      'reference alignments of protein families and simulated long-read datasets',
      'human whole-genome sequencing data',
      'remote homology detection tasks',
    ],
    finding: [
      'alignment accuracy improves while runtime falls by {pct}%',
      'the learned scores detect distant homologues missed by standard substitution matrices',
      'variant calling accuracy is maintained at a fraction of the computational cost',
    ],
  },
  {
    key: 'compilers-verification',
    safety: false,
    context: [
      'Optimising compilers must choose among many program transformations whose benefits depend on the target hardware.',
      'Formal verification proves that a program satisfies its specification, but writing specifications and proofs remains laborious.',
      'Compiler bugs can silently miscompile correct programs.',
    ],
    problem: [
      'Hand-tuned heuristics for inlining and loop unrolling generalise poorly across architectures.',
    ],
    method: [
      'a learned cost model that guides the search over optimisation pass orderings',
      'a verified compiler pass for vectorising loops',
      'a random program generator for differential testing of compilers',
    ],
    setting: [
      'standard CPU benchmarks and a suite of embedded workloads',
      'two production compilers on x86 and ARM targets',
      'a corpus of open-source C programs',
    ],
    finding: [
      'generated code runs {pct}% faster than at the default optimisation level',
      'the transformation provably preserves the semantics given by the specification',
      'dozens of previously unknown miscompilation bugs are found',
    ],
  },
  {
    key: 'databases',
    safety: false,
    context: [
      'Query optimisers rely on cardinality estimates that are frequently wrong by orders of magnitude.',
      'Learned index structures replace traditional B-trees with models of the data distribution.',
      'Transaction processing systems must balance throughput against strict consistency guarantees.',
    ],
    problem: [
      'Errors in cardinality estimation propagate to poor join orders.',
    ],
    method: [
      'a learned cardinality estimator based on deep autoregressive models',
      'an updatable learned index that adapts to insertions',
      'a concurrency control protocol for distributed transactions',
    ],
    setting: [
      'the join order benchmark and decision support workloads',
      'read-heavy and write-heavy key-value workloads',
      'a geo-distributed cluster of commodity servers',
    ],
    finding: [
      'tail query latency is reduced by {pct}%',
      'the index uses an order of magnitude less memory than a B-tree',
      'throughput scales almost linearly with the number of nodes',
    ],
  },
  {
    key: 'fairness-privacy',
    safety: false,
    context: [
      'Machine learning models used in lending and hiring can discriminate against protected groups.',
      'Differential privacy provides formal guarantees that a trained model reveals little about any individual record.',
      'Regulations on data governance require organisations to explain and audit automated decisions.',
    ],
    problem: [
      'Fairness constraints typically reduce accuracy, and privacy noise affects minority groups disproportionately.',
    ],
    method: [
      'a post-processing method that equalises error rates across demographic groups',
      'a differentially private training algorithm with adaptive gradient clipping',
      'an audit procedure for detecting disparate impact in deployed credit scoring models',
    ],
    setting: [
      'tabular datasets on income, recidivism and credit default',
      'federated learning across hospitals with private patient records',
      'a case study with a regional bank',
    ],
    finding: [
      'disparities in false positive rates shrink by {pct}% at a small cost in accuracy',
      'formal privacy guarantees hold at a practical level of utility',
      'trust in automated decisions increases when explanations accompany them',
    ],
  },
  {
    key: 'game-rl',
    safety: false,
    context: [
      'Deep reinforcement learning agents have reached superhuman performance in board games and video games.',
      'Sample efficiency remains a major obstacle for reinforcement learning in complex games with sparse rewards.',
      'Multi-agent games such as real-time strategy titles require long-horizon planning under partial observability.',
    ],
    problem: [
      'Agents often need billions of frames to master a single Atari game.',
    ],
    method: [
      'a model-based agent that plans with a learned latent dynamics model',
      'a self-play training scheme with a league of diverse opponents',
      'an exploration bonus based on the prediction error of random network features',
    ],
    setting: [
      'the Atari benchmark restricted to two hours of gameplay',
      'Go, chess and shogi',
      'real-time strategy games and hard-exploration platform games',
    ],
    finding: [
      'the agent attains a median human-normalised score of {pct}% on the benchmark',
      'the league reaches grandmaster level against human players',
      'the exploration reward lets the agent finish levels that were previously unsolved',
    ],
  },
  {
    key: 'medical-interpretability',
    safety: false,
    context: [
      'Deep learning models for medical imaging must be interpretable before clinicians will rely on them.',
      'Saliency maps are widely used to explain the predictions of diagnostic neural networks.',
      'Radiology tools based on machine learning are entering practice with limited clinical oversight of their failure modes.',
    ],
    problem: [
      'Many explanation methods highlight regions that are not clinically meaningful.',
    ],
    method: [
      'a concept-based interpretability method that links learned features to radiological findings',
      'a prototype network that explains each diagnosis by reference to similar training cases',
      'an evaluation protocol for saliency methods based on expert annotations',
    ],
    setting: [
      'chest radiographs, dermoscopy images and retinal scans',
      'a multicentre dataset of brain MRI scans',
      'a reader study with board-certified radiologists',
    ],
    finding: [
      'explanations agree with expert annotations in {pct}% of cases',
      'radiologists using the interpretable model detect more errors made by the system',
      'several popular saliency methods fail basic sanity checks',
    ],
  },
  {
    key: 'driving-safety',
    safety: false,
    context: [
      'Autonomous vehicles must detect pedestrians and cyclists reliably to improve road safety.',
      'Safety-critical perception systems for self-driving cars face rare but dangerous edge cases.',
      'Traffic crashes kill more than a million people each year, motivating driver assistance technology.',
    ],
    problem: [
      'Perception failures at night and in bad weather are underrepresented in training data.',
    ],
    method: [
      'a lidar-camera fusion network for three-dimensional object detection',
      'a scenario generation method that searches for failure cases of driving policies in simulation',
      'a motion forecasting model with calibrated uncertainty for trajectory planning',
    ],
    setting: [
      'two public autonomous driving datasets',
      'closed-loop simulation of urban traffic',
      'naturalistic driving data from a fleet of test vehicles',
    ],
    finding: [
      'pedestrian detection at night improves by {pct}%',
      'the generated scenarios reveal collisions that random testing misses',
      'planning with calibrated forecasts reduces hard braking events',
    ],
  },
  {
    key: 'process-safety',
    safety: false,
    context: [
      'Process safety in chemical plants depends on detecting abnormal operating conditions before they escalate.',
      'Occupational safety incidents in construction remain frequent despite extensive regulation.',
      'Fault detection in industrial control systems helps prevent equipment damage and unplanned shutdown.',
    ],
    problem: [
      'Alarm floods overwhelm operators during abnormal events.',
    ],
    method: [
      'a fault detection model combining principal component analysis with recurrent networks',
      'a computer vision system that monitors worker compliance with protective equipment rules',
      'a hazard analysis method for human-automation interaction in control rooms',
    ],
    setting: [
      'a widely used simulated chemical process benchmark',
      'video collected at several construction sites',
      'incident reports from a refinery over ten years',
    ],
    finding: [
      'faults are detected {pct}% earlier than with conventional statistical monitoring',
      'the system flags unsafe behaviour with high precision',
      'most incidents involved lapses of human oversight rather than equipment faults',
    ],
  },
  {
    key: 'continual-learning',
    safety: false,
    context: [
      'Neural networks trained on a sequence of tasks suffer catastrophic forgetting of earlier tasks.',
      'Continual learning aims to accumulate knowledge over time without retraining from scratch.',
    ],
    problem: [
      'Replay-based methods require storing data, which may be impossible for privacy reasons.',
    ],
    method: [
      'an elastic regularisation penalty that protects parameters important for previous tasks',
      'a generative replay approach that synthesises samples from earlier distributions',
      'a modular architecture that allocates new capacity for each task',
    ],
    setting: [
      'split image classification benchmarks and a sequence of language tasks',
      'class-incremental and domain-incremental benchmarks',
    ],
    finding: [
      'average accuracy after the final task improves by {pct}%',
      'catastrophic forgetting is nearly eliminated with a small memory budget',
      'the approach scales to long task sequences',
    ],
  },
  {
    key: 'cybersecurity',
    safety: false,
    context: [
      'Network intrusion detection systems must recognise novel attacks in high-volume traffic.',
      'Cyber deception techniques such as honeypots lure attackers into revealing their tools and tactics.',
      'Malware authors use adversarial obfuscation to evade machine learning detectors.',
    ],
    problem: [
      'Signature-based detectors miss zero-day exploits.',
    ],
    method: [
      'an anomaly detection model over network flow features',
      'an adaptive honeypot that uses reinforcement learning to prolong attacker engagement',
      'adversarial training for malware classifiers that must withstand obfuscation',
    ],
    setting: [
      'two public intrusion detection datasets',
      'a red team exercise on an enterprise network',
      'a corpus of Android applications',
    ],
    finding: [
      'detection rates for unseen attacks rise by {pct}% at a fixed false alarm rate',
      'attackers interact with the deceptive services for much longer',
      'evasion success falls sharply under adversarial training',
    ],
  },
  {
    key: 'clinical-trials',
    safety: false,
    context: [
      'Data monitoring committees provide independent oversight of safety and efficacy in clinical trials.',
      'Adaptive clinical trial designs allow interim analyses to modify treatment allocation as evidence accumulates.',
    ],
    problem: [
      'Frequent interim looks inflate the false positive rate.',
    ],
    method: [
      'a Bayesian adaptive design with response-adaptive randomisation',
      'a group sequential stopping rule that controls type I error',
      'a risk-based monitoring strategy that targets site visits where data quality is poorest',
    ],
    setting: [
      'simulated oncology trials and a completed cardiovascular trial',
      'a network of trial sites across four countries',
    ],
    finding: [
      'the design requires {pct}% fewer patients while preserving statistical power',
      'adverse events reach the oversight committee more promptly',
      'the stopping rule maintains nominal error rates',
    ],
  },
  {
    key: 'power-grids',
    safety: false,
    context: [
      'Integrating renewable generation makes frequency control of power grids more difficult.',
      'Power system operators must balance supply and demand in real time under uncertainty.',
    ],
    problem: [
      'Model-based controllers struggle with the variability of wind and solar output.',
    ],
    method: [
      'a reinforcement learning controller for voltage regulation in distribution networks',
      'a probabilistic forecasting model for day-ahead load',
      'a distributed optimisation algorithm for economic dispatch',
    ],
    setting: [
      'standard distribution and transmission test feeders',
      'a year of smart meter data from a regional utility',
    ],
    finding: [
      'voltage violations fall by {pct}% compared with droop control',
      'forecast error decreases across all seasons',
      'the algorithm converges in a fraction of the time of centralised solvers',
    ],
  },
  {
    key: 'circuit-design',
    safety: false,
    context: [
      'Analog circuit design relies on expert intuition to size transistors and choose topologies.',
      'Chip placement is a combinatorial problem that takes engineers weeks for each design.',
    ],
    problem: [
      'Each candidate design requires slow circuit simulation to evaluate.',
    ],
    method: [
      'a graph neural network that predicts circuit performance from netlists',
      'a reinforcement learning agent that places macros on a chip canvas',
      'Bayesian optimisation for transistor sizing',
    ],
    setting: [
      'operational amplifier and voltage regulator circuits',
      'accelerator designs in an advanced process node',
    ],
    finding: [
      'designs meet their specifications with {pct}% fewer simulations',
      'placements match or exceed human experts in power, performance and area',
    ],
  },
];

const METHOD_FRAMES = [
  'We propose {m}.',
  'In this paper, we introduce {m}.',
  'We present {m}.',
  'This work develops {m}.',
  'To address this, we develop {m}.',
  'Our main contribution is {m}.',
];

const EVAL_FRAMES = [
  'We evaluate it on {s} and find that {f}.',
  'Experiments on {s} show that {f}.',
  'Across {s}, {f}.',
  'Using {s}, we show that {f}.',
  'Results on {s} indicate that {f}.',
];

const CLOSERS = [
  'Code and data are publicly available.',
  'We discuss limitations and directions for future work.',
  'We release our implementation to support replication.',
  'Our analysis also highlights several open problems.',
  'We conclude with recommendations for practitioners.',
];

/** Sizes of the committed splits. */
export const TAI_SAFETY_SIZES = {
  dev: { safety: 48, other: 48 },
  test: { safety: 89, other: 91 },
} as const;

const MIN_WORDS = 40;
const MAX_WORDS = 90;


function pick<T>(rand: () => number, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty bank');
  return items[Math.floor(rand() * items.length)];
}

function shuffle<T>(rand: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function capitalise(sentence: string): string {
  return sentence.charAt(0).toUpperCase() + sentence.slice(1);
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter((w) => w !== '').length;
}

/** One abstract of a topic; may be outside the word bounds (the caller resamples). */
function composeAbstract(rand: () => number, topic: Topic): string {
  const sentences: string[] = [pick(rand, topic.context)];
  const withProblem = topic.problem.length > 0 && rand() < 0.6;
  if (withProblem) sentences.push(pick(rand, topic.problem));
  const methodFrames = withProblem ? METHOD_FRAMES : METHOD_FRAMES.filter((f) => !f.startsWith('To address'));
  sentences.push(pick(rand, methodFrames).replace('{m}', pick(rand, topic.method)));
  const pct = String(12 + Math.floor(rand() * 57));
  const finding = pick(rand, topic.finding).replace('{pct}', pct);
  sentences.push(capitalise(pick(rand, EVAL_FRAMES).replace('{s}', pick(rand, topic.setting)).replace('{f}', finding)));
  if (rand() < 0.45) sentences.push(pick(rand, CLOSERS));
  return sentences.join(' ');
}

/** The generated data set: labels.json content and both splits, in file order. */
export interface GeneratedDataset {
  labels: LabelSet;
  dev: Example[];
  test: Example[];
}

/** Generates the whole data set deterministically (same output on every call). */
export function generateTaiSafety(): GeneratedDataset {
  const rand = mulberry32(20240917);
  const seen = new Set<string>();
  let nextId = 1;

  const makeSplit = (counts: { safety: number; other: number }): Example[] => {
    const flags = shuffle(rand, [...Array<boolean>(counts.safety).fill(true), ...Array<boolean>(counts.other).fill(false)]);
    return flags.map((isSafety) => {
      const topic = pick(rand, isSafety ? SAFETY_TOPICS : OTHER_TOPICS);
      for (let attempt = 0; attempt < 1000; attempt++) {
        const text = composeAbstract(rand, topic);
        const n = wordCount(text);
        if (n < MIN_WORDS || n > MAX_WORDS || seen.has(text)) continue;
        seen.add(text);
        const id = `tai-${String(nextId++).padStart(4, '0')}`;
        return { id, text, label: isSafety ? SAFETY : OTHER };
      }
      throw new Error(`topic ${topic.key}: could not compose a new abstract of ${MIN_WORDS}-${MAX_WORDS} words`);
    });
  };

  const dev = makeSplit(TAI_SAFETY_SIZES.dev);
  const test = makeSplit(TAI_SAFETY_SIZES.test);
  return { labels: TAI_SAFETY_LABEL_SET, dev, test };
}

/** The committed files of the data set directory, keyed by file name, exactly as written. */
export function renderTaiSafetyFiles(ds: GeneratedDataset): Record<'dev.jsonl' | 'test.jsonl' | 'labels.json', string> {
  return {
    'dev.jsonl': toJsonl(ds.dev),
    'test.jsonl': toJsonl(ds.test),
    'labels.json': JSON.stringify(ds.labels, null, 2) + '\n',
  };
}

if (require.main === module) {
  const files = renderTaiSafetyFiles(generateTaiSafety());
  for (const [name, body] of Object.entries(files)) writeFileSync(join(__dirname, name), body);
  console.log(`wrote ${Object.keys(files).join(', ')} to ${__dirname}`);
}
