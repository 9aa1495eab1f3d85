// agentgateway YAML for one bind (port 0), one listener and one route with the given policies in
// front of one MCP target named `mcp` — for policies gatewayYaml() does not spell (remote JWKS,
// discovery, mcpAuthentication, authorization).
import { stringify } from 'yaml';

export function singleRouteYaml(upstreamUrl: string, policies: Readonly<Record<string, unknown>>): string {
  return stringify({
    binds: [
      {
        port: 0,
        listeners: [
          {
            routes: [
              {
                policies,
                backends: [{ mcp: { targets: [{ name: 'mcp', mcp: { host: upstreamUrl } }] } }],
              },
            ],
          },
        ],
      },
    ],
  });
}
