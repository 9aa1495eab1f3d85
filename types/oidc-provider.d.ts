// The part of oidc-provider 9 (an untyped ESM package) the integration tests and the token
// exchange example use: a Provider built from an issuer and a configuration, served through its
// Node request listener, with grant types of their own (registerGrantType) raising OAuth errors.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ClientMetadata {
    readonly client_id: string;
    readonly client_secret?: string;
    readonly grant_types?: readonly string[];
    readonly redirect_uris?: readonly string[];
    readonly response_types?: readonly string[];
    readonly id_token_signed_response_alg?: string;
    readonly [member: string]: unknown;
  }

  export interface ResourceServer {
    readonly scope: string;
    readonly audience?: string;
    readonly accessTokenFormat?: 'opaque' | 'jwt';
    readonly accessTokenTTL?: number;
    readonly jwt?: { readonly sign?: { readonly alg?: string; readonly kid?: string } };
  }

  export interface Configuration {
    readonly clients?: readonly ClientMetadata[];
    /** private JWKs; the first one usable for an algorithm signs */
    readonly jwks?: { readonly keys: readonly object[] };
    readonly features?: {
      readonly clientCredentials?: { readonly enabled: boolean };
      readonly devInteractions?: { readonly enabled: boolean };
      readonly resourceIndicators?: {
        readonly enabled: boolean;
        readonly defaultResource?: (ctx: unknown, client: unknown, oneOf?: readonly string[]) => string | Promise<string>;
        readonly getResourceServerInfo?: (ctx: unknown, resourceIndicator: string, client: unknown) => ResourceServer | Promise<ResourceServer>;
        readonly useGrantedResource?: (ctx: unknown, model: unknown) => boolean | Promise<boolean>;
      };
      readonly [feature: string]: unknown;
    };
    readonly [member: string]: unknown;
  }

  /** What a registered grant's handler sees: the token endpoint's Koa context after the body
   * was parsed, the parameters allow-listed and the client authenticated. */
  export interface GrantContext {
    readonly oidc: {
      /** allow-listed parameters; one registered as a dupe is a list when repeated */
      readonly params: Readonly<Record<string, string | readonly string[] | undefined>>;
      readonly client: { readonly clientId: string };
    };
    body: unknown;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** a Node `http` request listener */
    callback(): (req: IncomingMessage, res: ServerResponse) => unknown;
    /** Adds a grant type: `params` the parameters it reads, `dupes` those that may repeat. */
    registerGrantType(name: string, handler: (ctx: GrantContext) => Promise<void>, params?: readonly string[], dupes?: readonly string[]): void;
    /** An OAuth error answered by the token endpoint (`error`, `error_description`). */
    on(event: 'grant.error', listener: (ctx: unknown, err: errors.OIDCProviderError) => void): this;
    /** An error the provider answered with `server_error`. */
    on(event: 'server_error', listener: (ctx: unknown, err: Error) => void): this;
  }

  /** OAuth errors a grant handler throws; the argument becomes `error_detail`. */
  export namespace errors {
    class OIDCProviderError extends Error {
      readonly status: number;
      readonly error: string;
      /** what the client is told, when anything */
      readonly error_description?: string;
      /** the detail given to the constructor (not sent to the client) */
      readonly error_detail?: string;
    }
    class InvalidGrant extends OIDCProviderError {
      constructor(detail?: string);
    }
    class InvalidRequest extends OIDCProviderError {
      constructor(detail?: string);
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(detail?: string);
    }
    class InvalidScope extends OIDCProviderError {
      constructor(detail?: string, scope?: string);
    }
  }
}
