// An IP address or CIDR range as istiod writes it into Envoy's CidrRange (pilot/pkg/networking/util/util.go
// AddrStrToCidrRange: Go's netip.ParsePrefix or netip.ParseAddr, a bare address as /32 or /128, the address printed by
// netip.Addr.String — IPv6 in RFC 5952 form, an IPv4-mapped address as `::ffff:a.b.c.d` — and not masked).
import type { CidrRange } from '../../envoy/model/index.ts';

/** The CidrRange, or undefined where Go's netip refuses the text (zones are refused too: no CidrRange carries one). */
export function parseIpOrCidr(text: string): CidrRange | undefined {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!address) return undefined;
  const bitLen = address.kind === 4 ? 32 : 128;
  if (slash < 0) return { address_prefix: address.text, prefix_len: bitLen };
  const bits = text.slice(slash + 1);
  // netip.ParsePrefix: decimal bits without sign or leading zeros, at most the address's length.
  if (!/^(0|[1-9]\d*)$/.test(bits) || Number(bits) > bitLen) return undefined;
  return { address_prefix: address.text, prefix_len: Number(bits) };
}

function parseAddress(text: string): { kind: 4 | 6; text: string } | undefined {
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    return v4 ? { kind: 4, text: v4.join('.') } : undefined;
  }
  const groups = parseIpv6(text);
  return groups ? { kind: 6, text: formatIpv6(groups) } : undefined;
}

/** netip.parseIPv4: four decimal fields of 0–255 without leading zeros. */
function parseIpv4(text: string): number[] | undefined {
  const fields = text.split('.');
  if (fields.length !== 4 || fields.some((f) => !/^(0|[1-9]\d{0,2})$/.test(f) || Number(f) > 255)) return undefined;
  return fields.map(Number);
}

/** netip.parseIPv6 into eight 16-bit groups; a trailing dotted IPv4 fills the last two. */
function parseIpv6(text: string): number[] | undefined {
  if (text.includes('%')) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const fields = part.split(':');
    for (const [i, f] of fields.entries()) {
      if (i === fields.length - 1 && f.includes('.')) {
        const v4 = parseIpv4(f);
        if (!v4) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(f)) out.push(parseInt(f, 16));
      else return undefined;
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (!head || !tail) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const missing = 8 - head.length - tail.length;
  return missing >= 1 ? [...head, ...new Array<number>(missing).fill(0), ...tail] : undefined;
}

/** netip.Addr.String for IPv6: `::ffff:a.b.c.d` for a mapped IPv4, else RFC 5952 (the first longest run of two or more zero groups as `::`). */
function formatIpv6(groups: number[]): string {
  const g = (i: number) => groups[i] ?? 0;
  if (groups.slice(0, 5).every((x) => x === 0) && g(5) === 0xffff) return `::ffff:${g(6) >> 8}.${g(6) & 255}.${g(7) >> 8}.${g(7) & 255}`;
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && g(j) === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (from: number, to: number) => groups.slice(from, to).map((x) => x.toString(16));
  if (best < 0) return hex(0, 8).join(':');
  return `${hex(0, best).join(':')}::${hex(best + bestLength, 8).join(':')}`;
}
