// An HTTP authority (`reviews:9080`, `api.openai.com:443`, `[::1]:80`) split into host and port, once, for every
// part of the local mesh that reads one (Envoy's HeaderUtility::getPortStart: a bracketed IPv6 literal's colons are
// not the port's).

export interface Authority {
  host: string;
  /** The authority's port, or `defaultPort` when it names none. */
  port: number;
}

export function splitAuthority(authority: string, defaultPort = 80): Authority {
  const colon = authority.lastIndexOf(':');
  const v6End = authority.lastIndexOf(']');
  if (colon <= 0 || v6End > colon) return { host: authority, port: defaultPort };
  return { host: authority.slice(0, colon), port: Number(authority.slice(colon + 1)) };
}
