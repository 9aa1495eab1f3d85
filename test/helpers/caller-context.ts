// A caller with no token, no headers and no deadline, for tests that drive an UpstreamTarget
// directly.
import type { CallerContext } from '../../src/main/upstream/target.js';

export const anonymousCaller: CallerContext = {
  headers: [],
  authorization: undefined,
  identity: { token: null, claims: null, headers: [], query: '' },
  celContext: () => ({ jwt: null, mcp: null, request: null, source: null }),
  caller: 'c',
  deadline: null,
  owner: () => 'o',
  trace: null,
};
