import { SpecError } from './errors';
import type { PriceTable } from './spec';

export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
}

/**
 * Built-in USD prices per million tokens. A sweep spec's `prices.models` overrides or extends
 * them; a model with no price is refused before anything starts.
 */
export const DEFAULT_PRICES: Record<string, ModelPrice> = {
  offline: { inputPerMTok: 0, outputPerMTok: 0 },
  'gpt-4o': { inputPerMTok: 2.5, outputPerMTok: 10 },
  'gpt-4o-mini': { inputPerMTok: 0.15, outputPerMTok: 0.6 },
  'gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 },
  'gpt-4.1-mini': { inputPerMTok: 0.4, outputPerMTok: 1.6 },
  'gpt-4.1-nano': { inputPerMTok: 0.1, outputPerMTok: 0.4 },
};

/**
 * Models served by vLLM on the job's GPU (`vllm:<name>`) have no per-token price unless the spec
 * sets one: their cost is the GPU instance time, which the Batch compute environment bounds.
 */
export const SELF_HOSTED_PRICE: ModelPrice = { inputPerMTok: 0, outputPerMTok: 0 };

export function priceOf(model: string, overrides?: PriceTable, field = 'prices.models'): ModelPrice {
  const p = overrides?.models[model] ?? DEFAULT_PRICES[model] ?? (model.startsWith('vllm:') ? SELF_HOSTED_PRICE : undefined);
  if (!p)
    throw new SpecError([
      `${field}.${model}: no price for model "${model}" (known: ${Object.keys(DEFAULT_PRICES).join(', ')}). Fix: add \`prices: { models: { ${model}: { inputPerMTok: …, outputPerMTok: … } } }\` to the spec`,
    ]);
  return p;
}

/** Worst case of a token budget: every token at the dearer of the two prices. */
export function worstCaseUsd(tokens: number, price: ModelPrice): number {
  return (tokens * Math.max(price.inputPerMTok, price.outputPerMTok)) / 1e6;
}

/** Metered cost of a job. */
export function meteredUsd(usage: { promptTokens: number; completionTokens: number }, price: ModelPrice): number {
  return (usage.promptTokens * price.inputPerMTok + usage.completionTokens * price.outputPerMTok) / 1e6;
}
