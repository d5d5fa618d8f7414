// Names shared by the kube target and scripts/kind-up.ts.

/** Annotation on the ingress gateway Service giving a URL that reaches it from this host (set by scripts/kind-up.ts). */
export const hostUrlAnnotation = 'meshproof.dev/host-url';
