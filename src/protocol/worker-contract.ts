// Main ⇄ worker contract. Everything here is plain data: frames cross threads msgpackr-encoded,
// results come back as data. A worker never reports an expected outcome by throwing
// (structured clone would erase a custom error's code on the way back).

/** A public JWK as published in a JWKS (only the members we read are typed). */
export interface PublicJwk {
  readonly kty: string;
  readonly kid?: string;
  readonly alg?: string;
  readonly use?: string;
  readonly crv?: string;
  readonly n?: string;
  readonly e?: string;
  readonly x?: string;
  readonly y?: string;
  readonly [member: string]: unknown;
}

export interface ProviderInit {
  readonly issuer: string;
  /** null: audience not checked */
  readonly audiences: readonly string[] | null;
  readonly keys: readonly PublicJwk[];
}

/** The providers of one route's jwtAuth policy. */
export interface ProviderSetInit {
  readonly id: number;
  readonly providers: readonly ProviderInit[];
  /** clock skew allowed on exp/nbf, seconds */
  readonly leewaySeconds: number;
  /** claims that must be present (besides exp, always required) */
  readonly requiredClaims: readonly string[];
}

export interface RuleInit {
  readonly kind: 'allow' | 'deny' | 'require';
  readonly expr: string;
}

export interface RuleSetInit {
  readonly id: number;
  readonly rules: readonly RuleInit[];
}

/** Everything one generation of actors needs; sent once, as workerData. */
export interface WorkerInit {
  readonly generation: number;
  readonly providerSets: readonly ProviderSetInit[];
  readonly ruleSets: readonly RuleSetInit[];
  /** Characters of filtered list results each engine remembers (list-cache.ts); 0 turns it off. */
  readonly listCacheChars: number;
}

/** Lookups a cache counts into. The main thread's metrics own it, so the totals outlive config
 * generations; plain numbers, because they are bumped on the hot path. */
export interface CacheCounts {
  hits: number;
  misses: number;
}

/** Why a token was refused. Stable: metrics and logs key on these. */
export type ReasonCode =
  | 'malformed'
  | 'missing_kid'
  | 'unknown_kid'
  | 'alg_not_allowed'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_exp'
  | 'missing_claim'
  | 'bad_issuer'
  | 'bad_audience'
  | 'bad_claim_type';

export type Claims = Readonly<Record<string, unknown>>;

/** The CEL context. `mcp` holds at most one of tool/prompt/resource. */
export interface McpResourceRef {
  readonly name: string;
  readonly target: string;
}

export interface McpCelContext {
  readonly method?: string;
  readonly tool?: McpResourceRef;
  readonly prompt?: McpResourceRef;
  readonly resource?: McpResourceRef;
}

export interface RequestCelContext {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface CelContext {
  /** verified claims, or null when the request carries none */
  readonly jwt: Claims | null;
  readonly mcp: McpCelContext | null;
  readonly request: RequestCelContext | null;
  readonly source: { readonly address: string; readonly port: number } | null;
}

export type ListKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

export type WorkerTask =
  | { readonly op: 'verify'; readonly providerSet: number; readonly token: string; readonly now: number }
  | { readonly op: 'decide'; readonly ruleSet: number; readonly ctx: CelContext }
  | {
      readonly op: 'filter';
      readonly ruleSet: number;
      /** the context without `mcp`; the worker sets mcp.<kind> per item */
      readonly ctx: CelContext;
      readonly list: ListKind;
      readonly target: string;
      /** rename items `<target>_<name>` (tools, prompts) / `<target>+<uri>` (resources) */
      readonly prefix: boolean;
      /** the JSON text of one JSON-RPC response message whose result holds the list */
      readonly body: string;
    };

export type VerifyResult =
  | {
      readonly ok: true;
      readonly claims: Claims;
      /** seconds since epoch */
      readonly exp: number;
      readonly issuer: string;
      readonly kid: string;
      /** the RFC 7638 thumbprint of the key that verified the signature (jwk-thumbprint.ts) */
      readonly key: string;
    }
  | { readonly ok: false; readonly reason: ReasonCode; readonly detail: string };

export interface DecideResult {
  readonly allow: boolean;
  /** rules that failed to evaluate (counted as false) */
  readonly ruleErrors: number;
}

export interface FilterResult {
  /** the rewritten message text, or null when nothing changed (send the original bytes) */
  readonly body: string | null;
  readonly kept: number;
  readonly removed: number;
  readonly ruleErrors: number;
  /** where the message's `result` lies in the text when a list in it was filtered, so the
   * main thread can remember the outcome (list-cache.ts); absent otherwise */
  readonly resultSpan?: readonly [start: number, end: number];
}

export type WorkerResult = VerifyResult | DecideResult | FilterResult;
