/**
 * Decoding what a client sends in a request line, never throwing: a malformed percent-escape
 * (`%`, `%E0%A4%A`, a lone surrogate) is the client's error, answered 400 by the caller.
 */

/** decodeURIComponent, or undefined when `s` is not valid percent-encoded UTF-8. */
export function tryDecode(s: string): string | undefined {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** The path part of a request target (`/a/b?x=1` → `/a/b`). */
export function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  return q < 0 ? raw : raw.slice(0, q);
}

/**
 * Why a request target cannot be served, or undefined when it is fine: its path must decode
 * (every handler decodes it: HTTP-FLV mounts, static files, API ids) and its query too (the API
 * reads `callback`, `method`, …; URLSearchParams would silently keep a bad escape as is).
 */
export function badTarget(url: string | undefined): string | undefined {
  const raw = url ?? '/';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  if (tryDecode(path) === undefined) return 'malformed percent-encoding in the path';
  if (q >= 0) {
    for (const part of raw.slice(q + 1).split('&')) {
      if (tryDecode(part.replace(/\+/g, ' ')) === undefined) return 'malformed percent-encoding in the query';
    }
  }
  return undefined;
}
