/**
 * A vhost's `http_hooks { }` block (SRS's HTTP callbacks), read as SRS's getters do: env
 * override first (`SRS_VHOST_HTTP_HOOKS_ENABLED`, `SRS_VHOST_HTTP_HOOKS_ON_CONNECT`, … with the
 * URLs separated by spaces), then the file. Each event takes one or more URLs, called in order.
 */
import { z } from 'zod';
import { child, type Directive } from './directive.js';
import { envValue, type Env } from './env.js';

export const HOOK_EVENTS = ['on_connect', 'on_close', 'on_publish', 'on_unpublish', 'on_play', 'on_stop', 'on_dvr', 'on_hls'] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export interface HttpHooksConfig {
  enabled: boolean;
  /** event → URLs, in the config's order */
  urls: Record<HookEvent, string[]>;
  /**
   * on_hls_notify: URL templates ([server_id] [service_id] [app] [stream] [ts_url] [param]) fetched
   * with a GET per HLS segment, reading at most hls_nb_notify bytes of the answer (a CDN prefetch)
   */
  hlsNotify: string[];
}

/** The http_hooks directives srsx calls. */
export const HOOKS_IMPLEMENTED = new Set<string>(['enabled', ...HOOK_EVENTS, 'on_hls_notify']);

export const HttpHooksConfigSchema = z.object({
  enabled: z.boolean(),
  urls: z.object(Object.fromEntries(HOOK_EVENTS.map((e) => [e, z.array(z.string().url())])) as Record<HookEvent, z.ZodArray<z.ZodString>>),
  hlsNotify: z.array(z.string().min(1)),
}) satisfies z.ZodType<HttpHooksConfig>;

export function buildHttpHooks(vhost: Directive, env: Env): HttpHooksConfig {
  const block = child(vhost, 'http_hooks');
  const enabledEnv = envValue(env, 'srs.vhost.http_hooks.enabled');
  const enabledDir = child(block, 'enabled')?.args[0];
  const enabled = (enabledEnv || enabledDir) === 'on';
  const urls = {} as Record<HookEvent, string[]>;
  for (const e of HOOK_EVENTS) {
    const fromEnv = envValue(env, `srs.vhost.http_hooks.${e}`);
    urls[e] = fromEnv ? fromEnv.split(/\s+/).filter(Boolean) : [...(child(block, e)?.args ?? [])];
  }
  const notifyEnv = envValue(env, 'srs.vhost.http_hooks.on_hls_notify');
  const hlsNotify = notifyEnv ? notifyEnv.split(/\s+/).filter(Boolean) : [...(child(block, 'on_hls_notify')?.args ?? [])];
  return { enabled, urls, hlsNotify };
}
