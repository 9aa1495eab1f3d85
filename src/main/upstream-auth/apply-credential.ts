// A credential applied to an upstream request given as a header list and a path with its query:
// the removes first, then the inserts in order. A header insert replaces every copy; a query
// parameter is replaced (other parameters keep their bytes); a cookie is replaced inside one
// Cookie header that keeps the client's other cookies, as agentgateway's `set_request_cookie`.

import type { CredentialInsert, CredentialRemove } from './credential.js';

export interface RequestParts {
  /** lower-case names */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** path and query, as sent upstream */
  readonly pathAndQuery: string;
}

export function applyCredential(
  request: RequestParts,
  credential: { readonly removes: readonly CredentialRemove[]; readonly inserts: readonly CredentialInsert[] },
): RequestParts {
  let current = request;
  for (const r of credential.removes) current = place(current, r, null);
  for (const i of credential.inserts) current = place(current, i, i.value);
  return current;
}

/** Removes what is at the place, then writes `value` there unless it is null. */
function place(request: RequestParts, at: CredentialRemove, value: string | null): RequestParts {
  const { headers, pathAndQuery } = request;
  switch (at.kind) {
    case 'header': {
      const kept = headers.filter(([name]) => name !== at.name);
      return { headers: value === null ? kept : [...kept, [at.name, value]], pathAndQuery };
    }
    case 'queryParameter': {
      const q = pathAndQuery.indexOf('?');
      const path = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
      const pairs = (q < 0 ? '' : pathAndQuery.slice(q + 1)).split('&').filter((p) => p !== '' && paramName(p) !== at.name);
      if (value !== null) pairs.push(`${encodeURIComponent(at.name)}=${encodeURIComponent(value)}`);
      return { headers, pathAndQuery: pairs.length === 0 ? path : `${path}?${pairs.join('&')}` };
    }
    case 'cookie': {
      const cookies = headers
        .filter(([name]) => name === 'cookie')
        .flatMap(([, v]) => v.split(';').map((c) => c.trim()))
        .filter((c) => c !== '' && c.slice(0, Math.max(c.indexOf('='), 0)).trim() !== at.name);
      if (value !== null) cookies.push(`${at.name}=${value}`);
      const rest = headers.filter(([name]) => name !== 'cookie');
      return { headers: cookies.length === 0 ? rest : [...rest, ['cookie', cookies.join('; ')]], pathAndQuery };
    }
  }
}

function paramName(pair: string): string {
  const raw = pair.split('=', 1)[0] ?? '';
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return raw;
  }
}
