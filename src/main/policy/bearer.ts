// Where the token comes from: `Authorization: Bearer <token>` (scheme case-insensitive, one
// space). Anything else counts as no token, as in agentgateway.

import type { RequestSnapshot } from '../http/request.js';
import { headerValue } from '../http/request.js';

export function extractBearer(req: RequestSnapshot): string | null {
  const value = headerValue(req, 'authorization');
  if (value === undefined || value.length < 8) return null;
  if (value.slice(0, 7).toLowerCase() !== 'bearer ') return null;
  const token = value.slice(7).trim();
  return token === '' || token.includes(' ') ? null : token;
}
