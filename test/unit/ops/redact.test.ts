import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactedConfig } from '../../../src/main/ops/redact.js';

test('/config_dump hides the session key, stdio env values, URL credentials and queries, private JWK members', () => {
  const config = {
    runtime: { sessionKey: 'very-secret', listCacheBytes: 10 },
    binds: [
      {
        port: 3000,
        targets: [
          { name: 'local', stdio: { cmd: 'npx', args: ['server', 'https://x.example/?k=v'], env: { OPENAI_API_KEY: 'sk-supersecret', MODE: 'prod' } } },
          { name: 'remote', mcp: { host: new URL('https://user:pass@mcp.example.com/mcp?token=abc') } },
        ],
        jwks: { url: 'https://idp.example.com/jwks?api_key=xyz', keys: [{ kty: 'RSA', n: 'pub', e: 'AQAB', d: 'private!' }] },
        plain: 'https://idp.example.com/.well-known/openid-configuration',
      },
    ],
    noKey: { sessionKey: null },
  };
  const text = JSON.stringify(redactedConfig(config));
  for (const secret of ['very-secret', 'sk-supersecret', 'prod', 'user:pass', 'token=abc', 'api_key=xyz', 'private!', 'k=v']) {
    assert.ok(!text.includes(secret), `${secret} in ${text}`);
  }
  assert.deepEqual(redactedConfig(config), {
    runtime: { sessionKey: '<redacted>', listCacheBytes: 10 },
    binds: [
      {
        port: 3000,
        targets: [
          { name: 'local', stdio: { cmd: 'npx', args: ['<redacted>', '<redacted>'], env: { OPENAI_API_KEY: '<redacted>', MODE: '<redacted>' } } },
          { name: 'remote', mcp: { host: 'https://%3Credacted%3E:%3Credacted%3E@mcp.example.com/mcp?token=%3Credacted%3E' } },
        ],
        jwks: { url: 'https://idp.example.com/jwks?api_key=%3Credacted%3E', keys: [{ kty: 'RSA', n: 'pub', e: 'AQAB', d: '<redacted>' }] },
        plain: 'https://idp.example.com/.well-known/openid-configuration',
      },
    ],
    noKey: { sessionKey: null },
  });
});
