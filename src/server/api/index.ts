/** The HTTP API module: what the live server mounts on its http_api / http_server / exporter listeners. */
export { apiSharesHttpServer, handleApi, isApiPath, type ApiContext } from './handler.js';
// the exporter (prom-client) is imported from './metrics.js' only when `exporter` is enabled
export type { MetricsExporter } from './metrics.js';
export { serveStatic, resolveInside, contentTypeOf, type StaticOptions } from './static-files.js';
export { ErrorCode, applyCors, httpError } from './respond.js';
export { vhostId, streamUrl } from './shapes.js';
export type * from './stats-source.js';
