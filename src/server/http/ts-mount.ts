import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VhostConfig } from '../config/types.js';
import type { ClientTable } from '../live/clients.js';
import type { SourceRegistry } from '../live/registry.js';
import type { Logger } from '../log.js';

export interface TsMount {
  vhost: VhostConfig;
  match(pathname: string): { app: string; stream: string } | undefined;
}
export function compileTsMounts(_vhosts: VhostConfig[]): TsMount[] {
  return [];
}
export function serveTsPlayer(
  _req: IncomingMessage,
  _res: ServerResponse,
  _target: { mount: TsMount; app: string; stream: string },
  _ctx: { registry: SourceRegistry; clients: ClientTable; log: Logger; crossdomain: boolean },
): void {}
