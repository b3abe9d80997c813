import type { VhostConfig } from '../config/types.js';
import { DEFAULT_VHOST } from '../live/registry.js';
import { tryDecode } from './url.js';

/** A compiled http_remux mount: `[vhost]/[app]/[stream].flv` → a matcher for request paths. */
export interface FlvMount {
  vhost: VhostConfig;
  match(pathname: string): { app: string; stream: string } | undefined;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|\\]/g, '\\$&');
}

export function compileMount(vhost: VhostConfig): FlvMount | undefined {
  if (!vhost.httpRemux.enabled) return undefined;
  let template = vhost.httpRemux.mount.trim();
  if (!template.endsWith('.flv')) return undefined; // .ts/.aac/.mp3 remuxing is not implemented
  // the default vhost is served without the vhost part, as in SRS
  if (vhost.name === DEFAULT_VHOST) template = template.replace(/^\/?\[vhost\]\//, '/');
  else template = template.replace('[vhost]', vhost.name);
  if (!template.startsWith('/')) template = '/' + template;
  const names: string[] = [];
  const source = template
    .split(/(\[app\]|\[stream\])/)
    .map((part) => {
      if (part === '[app]') {
        names.push('app');
        return '(.+?)';
      }
      if (part === '[stream]') {
        names.push('stream');
        return '([^/]+?)';
      }
      return escapeRegex(part);
    })
    .join('');
  const re = new RegExp(`^${source}$`);
  const fixedApp = names.includes('app') ? undefined : '';
  return {
    vhost,
    match(pathname: string) {
      const m = re.exec(pathname);
      if (!m) return undefined;
      const groups: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) {
        // a malformed escape matches nothing (the server answers such a path 400 before this)
        const v = tryDecode(m[i + 1]!);
        if (v === undefined) return undefined;
        groups[names[i]!] = v;
      }
      return { app: groups.app ?? fixedApp ?? '', stream: groups.stream ?? '' };
    },
  };
}
