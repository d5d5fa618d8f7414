// `rewrite.uri` as Envoy applies the prefix_rewrite istiod writes for it (route.go applyHTTPRouteDestination:
// PrefixRewrite = uri, when not empty): the part of the path the route matched is replaced, the rest and the query
// string kept (envoy source/common/router/config_impl.cc currentUrlPathAfterRewriteWithMatchedPath). What the route
// matched: its prefix (`/` when the match has no uri, TranslateRouteMatch's default), its exact path, or for a regex
// the whole path without the query.
import type { HttpMatch, HttpRoute } from './model.ts';
import { matchApplies, type RequestFacts } from './routing.ts';

/** The match of `rule` that let the request in (Envoy has one route per match, tried in order). */
export function matchedMatch(rule: HttpRoute, facts: RequestFacts): HttpMatch | undefined {
  return rule.match.find((m) => matchApplies(m, facts));
}

/** The upstream path (with query) after `rewrite.uri`; `path` is the request's path with its query. */
export function rewritePath(rule: HttpRoute, facts: RequestFacts, path: string): string {
  const uri = rule.rewrite?.uri;
  if (!uri) return path;
  const q = path.indexOf('?');
  const query = q >= 0 ? path.slice(q) : '';
  const m = matchedMatch(rule, facts)?.uri;
  if (m === undefined || m.kind === 'present') return uri + path.slice(1);
  switch (m.kind) {
    case 'prefix':
      return uri + path.slice(m.value.length);
    case 'exact':
    case 'regex':
      return uri + query;
  }
}
