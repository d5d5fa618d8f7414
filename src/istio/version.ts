// Behaviour that changed between Istio releases, keyed by the Istio version the target runs (or emulates).
//
// Each field names its source. Istio minor releases ship one Envoy minor each: istio.io
// content/en/docs/releases/supported-releases ("Supported Envoy Versions": 1.16.x → 1.24.x, 1.17.x → 1.25.x,
// 1.18.x → 1.26.x; "In general, Istio releases tend to map one to one with Envoy releases"). Later pairs follow the same
// +8 pattern (1.23 → Envoy 1.31, 1.28 → 1.36); that extrapolation is what `envoyVersion` reports.
import { SpecError } from '../errors.ts';

export const DEFAULT_ISTIO_VERSION = '1.28.0';

export type RateLimitRefill = 'chunked' | 'continuous';

export interface IstioBehaviour {
  /** Normalised `major.minor.patch`, e.g. `1.28.0`. */
  version: string;
  minor: number;
  /** Envoy `major.minor` this Istio release ships (best known mapping, see header). */
  envoyVersion: string;
  /**
   * A route without `retries` gets Istio's default policy: 2 retries on
   * `connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes`.
   */
  defaultRetry: { attempts: number; retryOn: string; retriableStatusCodes: number[]; hostSelectionRetryMaxAttempts: number };
  /**
   * 503 is in the default retriable status codes up to 1.23; from 1.24 EXCLUDE_UNSAFE_503_FROM_DEFAULT_RETRY defaults to
   * true (istio/istio pilot/pkg/networking/core/route/retry/retry.go; 1.24 release notes, istio/istio#50506; reverted
   * by the 1.23 compatibility profile). Note (same file): a VirtualService `retries` without `retryOn` keeps the
   * default retriable codes, so on ≤ 1.23 it also retries 503.
   */
  retry503ByDefault: boolean;
  // Not modelled: 1.24 added a default retry on inbound routes for requests reset before they reach the app
  // (`reset-before-request`; ENABLE_INBOUND_RETRY_POLICY, 1.24 release notes, istio/istio#51704). It matters when a
  // pooled connection from the sidecar to the app is closed by the app just as the sidecar reuses it. The local
  // sidecar hands requests to its app without a connection, so that reset cannot happen there: nothing to retry.
  /**
   * Envoy < 1.31 refilled the local-rate-limit bucket from a timer, tokens_per_fill at a time every fill_interval;
   * Envoy 1.31.0 (July 2024) switched to a timer-less bucket refilled continuously on access
   * (envoyproxy/envoy changelogs/1.31.0.yaml, runtime guard no_timer_based_rate_limit_token_bucket, removed in 1.34).
   */
  rateLimitRefill: RateLimitRefill;
  /**
   * From 1.23 (ENABLE_DELIMITED_STATS_TAG_REGEX, istio/istio#52271, in the 1.22 compatibility profile) Istio ends
   * stat prefixes with `;` so the http_conn_manager_prefix tag is extracted: the RBAC counter becomes
   * `envoy_http_rbac{http_conn_manager_prefix="inbound_0.0.0.0_9080",authz_enforce_result="allowed"}` instead of
   * `envoy_http_inbound_0_0_0_0_9080_rbac{authz_enforce_result="allowed"}` (see security/stats.ts).
   */
  delimitedStatPrefixes: boolean;
}

const versionPattern = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?$/;

/** Parses `1.28`, `1.28.0`, `v1.23.4`, `1.24.0-beta.1`; anything else (or Istio 0.x / 2.x) is a SpecError. */
export function parseIstioVersion(version: string, path = '--istio-version'): { major: number; minor: number; patch: number } {
  const m = versionPattern.exec(version.trim());
  if (!m) throw new SpecError(`not an Istio version: ${JSON.stringify(version)} (expected e.g. ${DEFAULT_ISTIO_VERSION})`, undefined, path);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = m[3] === undefined ? 0 : Number(m[3]);
  if (major !== 1) throw new SpecError(`Istio ${version} is not a 1.x release; meshproof models Istio 1.x`, undefined, path);
  if (minor < 10) {
    throw new SpecError(`Istio ${version} is older than 1.10, which meshproof does not model`, undefined, path);
  }
  return { major, minor, patch };
}

export function istioBehaviour(version: string): IstioBehaviour {
  const { major, minor, patch } = parseIstioVersion(version);
  const envoyMinor = minor + 8;
  const retry503 = minor <= 23;
  return {
    version: `${major}.${minor}.${patch}`,
    minor,
    envoyVersion: `1.${envoyMinor}`,
    defaultRetry: {
      attempts: 2,
      retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
      retriableStatusCodes: retry503 ? [503] : [],
      hostSelectionRetryMaxAttempts: 5,
    },
    retry503ByDefault: retry503,
    rateLimitRefill: envoyMinor >= 31 ? 'continuous' : 'chunked',
    delimitedStatPrefixes: minor >= 23,
  };
}
