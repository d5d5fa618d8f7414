// One authority parser for the local mesh (src/targets/local/authority.ts), as Envoy's HeaderUtility::getPortStart
// finds the port: after the last colon, unless that colon is inside a bracketed IPv6 literal.
import { describe, expect, it } from 'vitest';
import { splitAuthority } from '../../src/targets/local/authority.ts';

describe('splitAuthority', () => {
  it('splits host and port, and gives the default port when the authority names none', () => {
    expect(splitAuthority('reviews:9080')).toEqual({ host: 'reviews', port: 9080 });
    expect(splitAuthority('reviews')).toEqual({ host: 'reviews', port: 80 });
    expect(splitAuthority('api.openai.com', 443)).toEqual({ host: 'api.openai.com', port: 443 });
  });

  it('keeps the colons of a bracketed IPv6 literal in the host', () => {
    expect(splitAuthority('[::1]:8080')).toEqual({ host: '[::1]', port: 8080 });
    expect(splitAuthority('[::1]')).toEqual({ host: '[::1]', port: 80 });
  });
});
