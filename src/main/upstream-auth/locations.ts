// agentgateway's AuthorizationLocation at run time: reading a credential from the client's
// request (header with a case-insensitive prefix, query parameter, cookie), and the insert or
// removal that puts one on the upstream request.

import type { TokenLocation } from '../config/types.js';
import type { CallerIdentity, CredentialInsert, CredentialRemove } from './credential.js';

/** The credential at `location` in the client's request, or null when absent or blank. */
export function readLocation(location: TokenLocation, caller: CallerIdentity): string | null {
  const value = rawAt(location, caller);
  return value === null || value.trim() === '' ? null : value;
}

function rawAt(location: TokenLocation, caller: CallerIdentity): string | null {
  switch (location.kind) {
    case 'header': {
      // The first copy, as agentgateway's `HeaderMap::get`.
      const value = caller.headers.find(([name]) => name === location.name)?.[1];
      if (value === undefined) return null;
      const { prefix } = location;
      return value.length >= prefix.length && value.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase() ? value.slice(prefix.length) : null;
    }
    case 'queryParameter':
      return new URLSearchParams(caller.query).get(location.name);
    case 'cookie': {
      for (const [name, value] of caller.headers) {
        if (name !== 'cookie') continue;
        for (const pair of value.split(';')) {
          const eq = pair.indexOf('=');
          if (eq > 0 && pair.slice(0, eq).trim() === location.name) return pair.slice(eq + 1).trim();
        }
      }
      return null;
    }
  }
}

export function insertAt(location: TokenLocation, value: string): CredentialInsert {
  return location.kind === 'header' ? { kind: 'header', name: location.name, value: `${location.prefix}${value}` } : { kind: location.kind, name: location.name, value };
}

export function removalOf(location: TokenLocation): CredentialRemove {
  return { kind: location.kind, name: location.name };
}
