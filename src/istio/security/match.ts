// Istio's string and IP matching for authorization rules.
//
// istio/api security/v1beta1/authorization_policy.proto, Rule: "Any string field in the rule supports Exact, Prefix,
// Suffix and Presence match: "abc" exact; "abc*" prefix; "*abc" suffix; "*" matches when the value is not empty".
// Headers and hosts: istio/istio pilot/pkg/security/authz/matcher/header.go — "*" is a presence match, hosts ignore case.
import { BlockList, isIP } from 'node:net';

/** Exact / `prefix*` / `*suffix` / `*` (non-empty). `ignoreCase` for hosts. */
export function istioStringMatch(pattern: string, value: string | undefined, ignoreCase = false): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return value !== '';
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const v = ignoreCase ? value.toLowerCase() : value;
  if (p.endsWith('*')) return v.startsWith(p.slice(0, -1));
  if (p.startsWith('*')) return v.endsWith(p.slice(1));
  return v === p;
}

/** A header matcher: `*` means the header is present (even empty); otherwise exact/prefix/suffix on the value. */
export function headerMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === '*') return true;
  return istioStringMatch(pattern, value);
}

/** True when `ip` is `cidr` (a single address or a CIDR block). Throws on a malformed block. */
export function ipInBlock(ip: string | undefined, block: string): boolean {
  if (!ip) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  const list = new BlockList();
  addBlock(list, block);
  return list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
}

/** Parses `203.0.113.4` or `203.0.113.0/24` (or IPv6) into the list; throws Error for anything else. */
export function addBlock(list: BlockList, block: string): void {
  const [addr = '', bits, extra] = block.split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) throw new Error(`not an IP address or CIDR block: ${block}`);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) {
    list.addAddress(addr, type);
    return;
  }
  const prefix = Number(bits);
  if (!/^\d+$/.test(bits) || prefix > (family === 6 ? 128 : 32)) throw new Error(`not a CIDR prefix length: ${block}`);
  list.addSubnet(addr, prefix, type);
}

export function isValidBlock(block: string): boolean {
  try {
    addBlock(new BlockList(), block);
    return true;
  } catch {
    return false;
  }
}
