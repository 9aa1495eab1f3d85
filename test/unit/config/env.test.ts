import { NO_BACKEND_POLICIES } from '../../../src/main/config/read-backend-policies.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandEnv } from '../../../src/main/config/env-expand.js';
import { loadConfigText } from '../../../src/main/config/load.js';
import { expectOk, lines } from './fixtures.js';

describe('env expansion', () => {
  const env = { HOST: 'up.example.com', PORT: '8000', EMPTY: '' };
  const expand = (text: string) => expandEnv(text, env);

  it('expands $VAR, ${VAR} and ${VAR:-default}', () => {
    assert.deepEqual(expand('$HOST:${PORT}/x ${MISSING:-dflt} ${HOST:-no}'), {
      text: 'up.example.com:8000/x dflt up.example.com',
      issues: [],
    });
  });

  it('a set-but-empty variable wins over the default (as shellexpand)', () => {
    assert.equal(expand('[${EMPTY:-d}]').text, '[]');
  });

  it('leaves a lone $ literal and turns $$ into $', () => {
    assert.deepEqual(expand('cost: $ 5, $., ${unclosed, $$HOST, end$'), {
      text: 'cost: $ 5, $., ${unclosed, $HOST, end$',
      issues: [],
    });
  });

  it('an undefined variable is an issue naming it and its line', () => {
    assert.deepEqual(expand('a: 1\nb: $NOPE\nc: ${ALSO_NOPE}\n').issues, [
      { path: 'line 2', message: 'environment variable "NOPE" is not set (use ${NOPE:-default} for a default)' },
      { path: 'line 3', message: 'environment variable "ALSO_NOPE" is not set (use ${ALSO_NOPE:-default} for a default)' },
    ]);
  });

  it('does not expand the yaml-language-server schema comment', () => {
    const r = expand('# yaml-language-server: $schema=https://agentgateway.dev/schema/config\nx: 1\n');
    assert.deepEqual(r, { text: '#=https://agentgateway.dev/schema/config\nx: 1\n', issues: [] });
  });

  it('applies to the whole config before YAML parsing', () => {
    const text = [
      'binds:',
      '- port: ${PORT:-9000}',
      '  listeners:',
      '  - routes:',
      '    - backends:',
      '      - mcp: {targets: [{name: t, mcp: {host: "http://$UPSTREAM/mcp"}}]}',
      '',
    ].join('\n');
    const config = expectOk(loadConfigText(text, { cwd: '/', env: { UPSTREAM: 'localhost:8000' } }));
    assert.equal(config.binds[0]?.port, 9000);
    const target = config.binds[0]?.listeners[0]?.routes[0]?.backends[0]?.targets[0];
    assert.deepEqual(target, { name: 't', kind: 'mcp', url: 'http://localhost:8000/mcp', policies: NO_BACKEND_POLICIES });

    assert.deepEqual(lines(loadConfigText(text, { cwd: '/', env: {} })), [
      'line 6: environment variable "UPSTREAM" is not set (use ${UPSTREAM:-default} for a default)',
    ]);
  });
});
