// istiod's JWKS resolver (pilot/pkg/model/jwks_resolver.go) for RequestAuthentications whose jwksUri istiod fetches:
// one fetch per (issuer, jwksUri) when a configuration first needs it, with the rule's timeout and no retry on that
// path (networkFetchRetryCountOnMainFlow = 0); a non-2xx answer, an error or a timeout is a failure, and the filter
// then gets PublicOnlyJwks — a public key whose private key exists nowhere (BuildLocalJwks: "fail closed"), so every
// token fails verification. The result is cached as istiod caches it. istiod retries a failure in the background a
// minute later (JwtPubKeyRefreshIntervalOnFailure) and refreshes successes every 20 minutes; a local run does neither.
import { generateKeyPairSync } from 'node:crypto';

let publicOnly: string | undefined;

/** A JWKS with one RSA public key whose private key was discarded at once (made once per process). */
export function publicOnlyJwks(): string {
  if (publicOnly === undefined) {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { kty, e, n } = publicKey.export({ format: 'jwk' });
    publicOnly = JSON.stringify({ keys: [{ kty, e, n }] });
  }
  return publicOnly;
}

export interface JwksFetchOutcome {
  issuer: string;
  uri: string;
  /** The document, or why the fetch failed. */
  text?: string;
  error?: string;
}

export type JwksFetch = (uri: string, timeoutMs: number) => Promise<string>;

export class JwksCache {
  private readonly entries = new Map<string, JwksFetchOutcome>();

  private static key(issuer: string, uri: string): string {
    return `${issuer}\n${uri}`;
  }

  /** The document istiod fetched for (issuer, uri); undefined when the fetch failed or never happened. */
  lookup(issuer: string, uri: string): string | undefined {
    return this.entries.get(JwksCache.key(issuer, uri))?.text;
  }

  /** Fetch what the rules need and is not cached yet (concurrently); returns the outcomes of these fetches. */
  async resolve(rules: readonly { issuer: string; uri: string; timeoutMs: number }[], fetch: JwksFetch): Promise<JwksFetchOutcome[]> {
    const pending = new Map<string, { issuer: string; uri: string; timeoutMs: number }>();
    for (const r of rules) if (!this.entries.has(JwksCache.key(r.issuer, r.uri))) pending.set(JwksCache.key(r.issuer, r.uri), r);
    return Promise.all(
      [...pending].map(async ([key, r]) => {
        let outcome: JwksFetchOutcome;
        try {
          outcome = { issuer: r.issuer, uri: r.uri, text: await fetch(r.uri, r.timeoutMs) };
        } catch (e) {
          outcome = { issuer: r.issuer, uri: r.uri, error: (e as Error).message };
        }
        this.entries.set(key, outcome);
        return outcome;
      }),
    );
  }
}
