// Reference JWT proxy for the bench (issue 4's "fastify 5 + @fastify/reply-from + jose"):
// verify the RS256 bearer token with jose against a local JWKS (iss, aud, exp), then relay the
// request to the upstream with reply-from (undici). No MCP awareness, no filtering.
// Plain JS on purpose: it is optional, and its packages live in bench/reference/node_modules
// (npm --prefix bench/reference ci), so the main build never needs their types.
//
// node bench/reference/fastify-jose-proxy.mjs <port> <upstream-origin> <jwks-file> <issuer> <audience>
import { readFileSync } from 'node:fs';
import Fastify from 'fastify';
import replyFrom from '@fastify/reply-from';
import { createLocalJWKSet, jwtVerify } from 'jose';

const [port, upstream, jwksFile, issuer, audience] = process.argv.slice(2);
if (audience === undefined) {
  process.stderr.write('usage: fastify-jose-proxy.mjs <port> <upstream-origin> <jwks-file> <issuer> <audience>\n');
  process.exit(2);
}
const jwks = createLocalJWKSet(JSON.parse(readFileSync(jwksFile, 'utf8')));
const app = Fastify({ logger: false });
await app.register(replyFrom, { base: upstream, undici: { connections: 64, pipelining: 1 } });
// The body is relayed as bytes, as a proxy would.
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

app.post('/*', async (req, reply) => {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) {
    return reply.code(401).header('www-authenticate', 'Bearer').type('text/plain').send('authentication failure: no bearer token found');
  }
  try {
    await jwtVerify(header.slice(7), jwks, { issuer, audience, algorithms: ['RS256'] });
  } catch (err) {
    return reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').type('text/plain').send(`authentication failure: ${err.code ?? 'invalid'}`);
  }
  // `body` + `contentType`: reply-from sends the bytes as they are (it would JSON.stringify a
  // request body of type application/json otherwise).
  return reply.from(req.url, {
    body: req.body,
    contentType: req.headers['content-type'] ?? 'application/json',
    rewriteRequestHeaders: (_r, headers) => {
      const { authorization: _drop, ...rest } = headers;
      return rest;
    },
  });
});

await app.listen({ port: Number(port), host: '127.0.0.1' });
process.stdout.write(`reference listening on ${port}\n`);
const stop = () => app.close().then(() => process.exit(0), () => process.exit(1));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
