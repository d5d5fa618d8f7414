// The Envoy v3 configuration the local data plane executes: one proxy's listeners, routes, clusters and endpoints.
import type { Cluster } from './cluster.ts';
import type { ClusterLoadAssignment } from './endpoint.ts';
import type { Listener } from './listener.ts';
import type { RouteConfiguration } from './route.ts';

export interface EnvoyConfig {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
}

export type * from './common.ts';
export type * from './cluster.ts';
export type * from './endpoint.ts';
export type * from './http-filters.ts';
export type * from './listener.ts';
export type * from './rbac.ts';
export type * from './route.ts';
export type * from './tls.ts';
export { TypedConfigType } from './type-urls.ts';
