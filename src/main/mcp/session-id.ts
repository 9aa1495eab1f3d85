// The gateway's MCP session id is an encrypted, authenticated record of the upstream session
// ids and of who opened the session. Nothing is stored per session, so any replica that shares
// the key can serve any session, a restart loses nothing, and a stolen id is useless with another
// user's token (the MCP security practices bind sessions to the user).

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Claims } from '../../protocol/worker-contract.js';
import { GenerationalMap } from '../generational-map.js';

export interface SessionRecord {
  /** upstream session id per target name (a Map: a target named `constructor` must not read
   * Object.prototype's) */
  readonly upstream: ReadonlyMap<string, string>;
  /** digest of the route's session scope and the caller's iss+sub (sessionOwner) */
  readonly principal: string;
}

export interface SessionCodec {
  encode(record: SessionRecord): string;
  /** null for anything that is not a record this key sealed */
  decode(id: string): SessionRecord | null;
}

const version = 'p1';

/** Who a session belongs to: the caller (iss+sub; none for an anonymous one) on one route
 * (RoutePlan.sessionScope). A session id opened on one route is no session on another, whose
 * target of the same name may be another server with other rules. */
export function sessionOwner(claims: Claims | null, scope: string): string {
  const iss = claims !== null && typeof claims['iss'] === 'string' ? claims['iss'] : '';
  const sub = claims !== null && typeof claims['sub'] === 'string' ? claims['sub'] : '';
  const who = claims === null ? '\u0001anonymous' : `${iss}\u0000${sub}`;
  return createHash('sha256').update(`${scope}\u0000${who}`).digest('base64url').slice(0, 22);
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Decoded ids kept: a session sends its id on every request, and one decryption per session
 * is enough. */
const decodedCacheSize = 10_000;

/** `secret` is hashed to a 256-bit key; null picks a random key for this process. */
export function createSessionCodec(secret: string | null): SessionCodec {
  const key = secret === null ? randomBytes(32) : createHash('sha256').update(`portcullis-session\u0000${secret}`).digest();
  const decoded = new GenerationalMap<string, SessionRecord>(decodedCacheSize);
  function remember(id: string, record: SessionRecord): SessionRecord {
    decoded.set(id, record);
    return record;
  }
  return {
    encode(record) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(JSON.stringify({ u: Object.fromEntries(record.upstream), p: record.principal })), cipher.final()]);
      return `${version}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    },
    decode(id) {
      const hit = decoded.get(id);
      if (hit !== undefined) return hit;
      if (!id.startsWith(`${version}.`) || id.length > 8192) return null;
      const raw = Buffer.from(id.slice(version.length + 1), 'base64url');
      if (raw.length < 12 + 16 + 2) return null;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(raw.length - 16));
        const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]).toString('utf8');
        const value: unknown = JSON.parse(text);
        if (typeof value !== 'object' || value === null) return null;
        const u: unknown = 'u' in value ? value.u : undefined;
        const p: unknown = 'p' in value ? value.p : undefined;
        if (!isStringRecord(u) || typeof p !== 'string') return null;
        return remember(id, { upstream: new Map(Object.entries(u)), principal: p });
      } catch {
        return null;
      }
    },
  };
}
