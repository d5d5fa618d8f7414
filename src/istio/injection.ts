// The labels Istio's sidecar injector gives a pod (pkg/kube/inject: security.istio.io/tlsMode and the canonical
// service labels, defaulted from app / version). istiod reads them: `tlsMode: istio` is what makes it send mTLS to an
// endpoint (model.GetTLSModeFromEndpointLabels: no label is "disabled"), and the canonical labels name it in telemetry.
export function injectedPodLabels(labels: Record<string, string>, podName: string): Record<string, string> {
  return {
    'security.istio.io/tlsMode': 'istio',
    'service.istio.io/canonical-name': labels.app ?? podName,
    'service.istio.io/canonical-revision': labels.version ?? 'latest',
    ...labels,
  };
}
