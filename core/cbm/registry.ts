import { harnessPath, SHIPPED } from '../assets';
import { SpecError } from '../errors';
import { classificationKind } from './classification';
import { multipleChoiceKind } from './multiple-choice';
import { promptInjectionKind } from './prompt-injection';
import { workspaceKind } from './workspace';
import type { CbmKind } from './types';

/** The CBM kinds by name: adding a kind is its folder plus one line here. */
export const CBM_KINDS: Record<string, CbmKind> = {
  classification: classificationKind as unknown as CbmKind,
  'multiple-choice': multipleChoiceKind as unknown as CbmKind,
  'prompt-injection': promptInjectionKind as unknown as CbmKind,
  workspace: workspaceKind as unknown as CbmKind,
};

/** The kind named `name`; a CorruptRecord-style error for a staged record naming an unknown kind. */
export function cbmKind(name: string): CbmKind {
  const k = CBM_KINDS[name];
  if (!k) throw new SpecError([`CBM kind "${name}" is not known to this version of Uplift (known: ${Object.keys(CBM_KINDS).join(', ')})`]);
  return k;
}

/** Where a kind's react prompts are (`react-<variant>.md`, read at run time; shipped files: core/assets.ts). */
export function kindPromptsDir(kind: string): string {
  return harnessPath(SHIPPED.cbmKindPrompts(kind));
}
