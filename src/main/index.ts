// The package's public entry: `import { startGateway } from 'portcullis'`.

export { startGateway, ConfigError, ListenError, type Gateway, type GatewayOptions, type ReloadResult } from './gateway.js';
export { loadConfigFile, loadConfigText, formatIssues, type LoadResult } from './config/load.js';
export type { GatewayConfig, ConfigIssue } from './config/types.js';
export type { LogSink } from './log/logger.js';
export { UwsLoadError } from './http/uws.js';
export { version } from './version.js';
