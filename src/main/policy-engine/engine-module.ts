// The one place the main thread reaches the policy engine's implementation: the actor module,
// loaded by URL (src/main never imports src/workers), whose factory is taken as the protocol's
// PolicyEngineFactory. Its type is checked where it is written (src/workers/engine.ts is typed
// by the protocol); here only that the module exports a function under the protocol's name.

import { policyEngineFactoryName, type PolicyEngineFactory } from '../../protocol/policy-engine.js';

/** The pool's workers run this module too (its default export answers frames). */
export const actorUrl = new URL('../../workers/actor.js', import.meta.url);

function isPolicyEngineFactory(v: unknown): v is PolicyEngineFactory {
  return typeof v === 'function';
}

export async function loadPolicyEngineFactory(): Promise<PolicyEngineFactory> {
  const mod: unknown = await import(actorUrl.href);
  const factory = typeof mod === 'object' && mod !== null && policyEngineFactoryName in mod ? mod[policyEngineFactoryName] : undefined;
  if (!isPolicyEngineFactory(factory)) throw new TypeError(`${actorUrl.href} does not export ${policyEngineFactoryName}`);
  return factory;
}
