// The policy engine of one config generation: imported keys and compiled CEL, answering tasks
// synchronously with plain data. Runs in a Piscina actor, or inline on the main thread.
import type { DecideTask, FilterRequest, FilterTask, PolicyEngine, PolicyEngineFactory, RememberedAnswer, VerifyTask } from '../protocol/policy-engine.js';
import type { CelContext, DecideResult, FilterResult, VerifyResult, WorkerResult, WorkerTask } from '../protocol/worker-contract.js';
import { compileRuleSet, type CompiledRuleSet } from './cel/compile.js';
import { decide } from './cel/decide.js';
import { cachedFilterList, filterList, rememberFilterList, type ListOfCaller } from './filter-list.js';
import { FilteredListCache } from './list-cache.js';
import { rememberedAnswer } from './remembered-bytes.js';
import { prepareProviderSet, type PreparedProviderSet } from './jwt/provider-set.js';
import { verifyToken, verifyTokenAsync } from './jwt/verify-token.js';
import { nativeRsa } from './jwt/native-rsa.js';

function indexById<T extends { readonly id: number }>(items: readonly T[], what: string): ReadonlyMap<number, T> {
  const map = new Map<number, T>();
  for (const item of items) {
    if (map.has(item.id)) throw new Error(`duplicate ${what} id ${item.id}`);
    map.set(item.id, item);
  }
  return map;
}

/**
 * The policy engine (src/protocol/policy-engine.ts). Throws on a CEL rule that does not compile
 * or a duplicate id (the config loader should have refused both); unusable keys are only
 * reported in `warnings`.
 */
export const createPolicyEngine: PolicyEngineFactory = (init, listCounts): PolicyEngine => {
  const warnings: string[] = [];
  const providerSets = indexById(
    init.providerSets.map((s) => prepareProviderSet(s, (w) => warnings.push(w))),
    'provider set',
  );
  const ruleSets = indexById(init.ruleSets.map(compileRuleSet), 'rule set');

  // An unknown id is a programmer error on the main thread: throw.
  function providerSet(id: number): PreparedProviderSet {
    const set = providerSets.get(id);
    if (set === undefined) throw new RangeError(`generation ${init.generation} has no provider set ${id}`);
    return set;
  }
  function ruleSet(id: number): CompiledRuleSet {
    const set = ruleSets.get(id);
    if (set === undefined) throw new RangeError(`generation ${init.generation} has no rule set ${id}`);
    return set;
  }

  const verify = (id: number, token: string, now: number): VerifyResult => verifyToken(providerSet(id), token, now);
  const verifyAsync = (task: VerifyTask): Promise<VerifyResult> => verifyTokenAsync(providerSet(task.providerSet), task.token, task.now);
  const decideWith = (id: number, ctx: CelContext): DecideResult => decide(ruleSet(id), ctx);
  const listCache = init.listCacheChars > 0 ? new FilteredListCache(init.listCacheChars, listCounts) : null;
  const filter = (id: number, req: FilterRequest): FilterResult => filterList(ruleSet(id), req, listCache);
  const cachedFilter = (id: number, req: FilterRequest): FilterResult | null => (listCache === null ? null : cachedFilterList(ruleSet(id), req, listCache));
  const remembered = (id: number, req: ListOfCaller, bytes: Uint8Array): RememberedAnswer | null => (listCache === null ? null : rememberedAnswer(ruleSet(id), req, bytes, listCache));
  const rememberFilter = (id: number, req: FilterRequest, result: FilterResult): void => {
    if (listCache !== null) rememberFilterList(ruleSet(id), req, listCache, result);
  };

  function run(task: VerifyTask): VerifyResult;
  function run(task: DecideTask): DecideResult;
  function run(task: FilterTask): FilterResult;
  function run(task: WorkerTask): WorkerResult;
  function run(task: WorkerTask): WorkerResult {
    switch (task.op) {
      case 'verify':
        return verify(task.providerSet, task.token, task.now);
      case 'decide':
        return decideWith(task.ruleSet, task.ctx);
      case 'filter':
        return filter(task.ruleSet, task);
    }
  }

  const rsa = nativeRsa();
  const rsaVerifier = rsa.loaded ? { native: true, detail: rsa.module.openssl, ifma: rsa.module.ifma } : { native: false, detail: rsa.reason, ifma: false };
  return { generation: init.generation, rsaVerifier, warnings, run, verify, verifyAsync, decide: decideWith, filter, cachedFilter, rememberedAnswer: remembered, rememberFilter, listCacheChars: () => listCache?.chars ?? 0 };
};
