// A request's hash for a ring hash cluster, from its route's hash policies (source/common/http/hash_policy.cc
// HashPolicyImpl::generateHash): each policy that yields a hash is folded in (the previous value rotated left by one,
// then XORed), and a terminal policy that yielded one ends the list. A cookie policy with a ttl whose cookie the
// request lacks makes the router set one (router.h addDownstreamSetCookie) and hashes that value.
import type { HashPolicy } from '../model/index.ts';
import { durationMs } from './duration.ts';
import { uint64ToHex, xxHash64 } from './xxhash.ts';

const MASK = (1n << 64n) - 1n;

export interface HashInputs {
  /** Request header values by lower-case name. */
  header(name: string): string[];
  /** :path, with the query string. */
  path: string;
  /** The downstream connection's remote and local addresses (`ip:port`). */
  remoteAddress: string;
  localAddress: string;
}

export interface RequestHash {
  hash?: bigint;
  /** Set-Cookie values the response gets (a generated hash cookie). */
  setCookies: string[];
}

/** Utility::parseCookieValue: the first `name=value` of the Cookie headers, quotes removed. */
export function cookieValue(cookieHeaders: string[], name: string): string {
  for (const header of cookieHeaders) {
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
      const value = part.slice(eq + 1).trim();
      return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    }
  }
  return '';
}

/** Utility::makeSetCookieValue with httponly. */
function setCookie(name: string, value: string, path: string, maxAgeSeconds: number): string {
  return `${name}="${value}"${maxAgeSeconds !== 0 ? `; Max-Age=${maxAgeSeconds}` : ''}${path ? `; Path=${path}` : ''}; HttpOnly`;
}

export function requestHash(policies: readonly HashPolicy[], inputs: HashInputs): RequestHash {
  let hash: bigint | undefined;
  const setCookies: string[] = [];
  for (const policy of policies) {
    let next: bigint | undefined;
    if (policy.header) {
      const values = inputs.header(policy.header.header_name.toLowerCase());
      // HashUtil::xxHash64 over the sorted values: one stream, so the same as hashing them joined.
      if (values.length > 0) next = xxHash64([...values].sort().join(''));
    } else if (policy.cookie) {
      let value = cookieValue(inputs.header('cookie'), policy.cookie.name);
      if (value === '' && policy.cookie.ttl !== undefined) {
        value = uint64ToHex(xxHash64(inputs.remoteAddress + inputs.localAddress));
        setCookies.push(setCookie(policy.cookie.name, value, policy.cookie.path ?? '', Math.floor(durationMs(policy.cookie.ttl) / 1000)));
      }
      if (value !== '') next = xxHash64(value);
    } else if (policy.connection_properties?.source_ip) {
      const ip = inputs.remoteAddress.slice(0, inputs.remoteAddress.lastIndexOf(':'));
      if (ip !== '') next = xxHash64(ip);
    } else if (policy.query_parameter) {
      const query = inputs.path.includes('?') ? inputs.path.slice(inputs.path.indexOf('?') + 1) : '';
      const value = new URLSearchParams(query).get(policy.query_parameter.name);
      if (value !== null) next = xxHash64(value);
    }
    if (next !== undefined) {
      const old = hash === undefined ? 0n : ((hash << 1n) | (hash >> 63n)) & MASK;
      hash = old ^ next;
    }
    if (policy.terminal && hash !== undefined) break;
  }
  return { ...(hash !== undefined ? { hash } : {}), setCookies };
}
