// istio-translate: what the real istiod generates (LDS, RDS, CDS, EDS) for sets of Kubernetes and Istio objects, many
// sets per process. One JSON request per line on standard input, one JSON answer per line on standard output:
//
//	{"id": any, "objects": [<Kubernetes object>...], "proxies": [{"type": "sidecar"|"router", "podName", "namespace",
//	 "ip", "labels", "serviceAccount"}], "validateOnly": false}
//	→ {"id": any, "proxies": {"<podName>.<namespace>": {"listeners": [...], "routes": [...], "clusters": [...],
//	   "endpoints": [...]}}, "warnings": [...]}  or  {"id": any, "error": "..."}
//
// Each resource is canonical proto3 JSON with "@type", written as istiod's /debug/config_dump writes it.
//
// Each set runs in a fresh copy of istiod's own server (pilot/test/xds FakeDiscoveryServer): Services, Pods and
// EndpointSlices go to a fake Kubernetes client read by the real Kubernetes registry (pilot/pkg/serviceregistry/kube/
// controller), Istio objects to the config store after the validating webhook's checks
// (pkg/webhooks/validation/server Webhook.validate), and each proxy connects over ADS as Envoy does (CDS, EDS, LDS,
// RDS), so the answer is what istiod pushes to it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/anypb"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/runtime"

	networking "istio.io/api/networking/v1alpha3"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	networkingcore "istio.io/istio/pilot/pkg/networking/core"
	v3 "istio.io/istio/pilot/pkg/xds/v3"
	xdsfake "istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/host"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/schema/resource"
	kubelib "istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/kube/krt"
	istiolog "istio.io/istio/pkg/log"
)

// domainSuffix is the cluster's DNS domain, as istiod's --domain default: the webhook and the CRD store give each
// Istio object this Meta.Domain, so short hosts (`reviews`) resolve to `reviews.<namespace>.svc.cluster.local`.
const domainSuffix = "cluster.local"

// istioVersion is what the proxies claim in their node metadata (ISTIO_VERSION), the release line of the pin.
const istioVersion = "1.31.0"

type proxyRequest struct {
	Type           string            `json:"type"`
	PodName        string            `json:"podName"`
	Namespace      string            `json:"namespace"`
	IP             string            `json:"ip"`
	Labels         map[string]string `json:"labels"`
	ServiceAccount string            `json:"serviceAccount"`
}

type request struct {
	ID      json.RawMessage   `json:"id"`
	Objects []json.RawMessage `json:"objects"`
	Proxies []proxyRequest    `json:"proxies"`
	// ValidateOnly answers with the webhook's verdict alone, without starting istiod.
	ValidateOnly bool `json:"validateOnly"`
	// MeshConfig is the installation's mesh config as YAML (the `mesh` key of the istio ConfigMap), merged over
	// istiod's defaults as istiod reads it (mesh.ApplyMeshConfigDefaults); empty for the defaults.
	MeshConfig string `json:"meshConfig"`
}

type proxyConfig struct {
	Listeners []json.RawMessage `json:"listeners"`
	Routes    []json.RawMessage `json:"routes"`
	Clusters  []json.RawMessage `json:"clusters"`
	Endpoints []json.RawMessage `json:"endpoints"`
}

type response struct {
	ID       json.RawMessage        `json:"id"`
	Proxies  map[string]proxyConfig `json:"proxies,omitempty"`
	Warnings []string               `json:"warnings,omitempty"`
	Error    string                 `json:"error,omitempty"`
	Millis   int64                  `json:"millis"`
}

// failer is the test.Failer the fake server wants: a failure ends the set (recovered in translate), cleanups stop the
// set's informers and servers.
type failer struct{ cleanups []func() }

type failure struct{ message string }

func (f *failer) Fail()                             { panic(failure{"fail"}) }
func (f *failer) FailNow()                          { panic(failure{"fail now"}) }
func (f *failer) Fatal(args ...any)                 { panic(failure{fmt.Sprint(args...)}) }
func (f *failer) Fatalf(format string, args ...any) { panic(failure{fmt.Sprintf(format, args...)}) }
func (f *failer) Log(args ...any)                   { fmt.Fprintln(os.Stderr, args...) }
func (f *failer) Logf(format string, args ...any)   { fmt.Fprintf(os.Stderr, format+"\n", args...) }
func (f *failer) TempDir() string                   { d, _ := os.MkdirTemp("", "istio-translate"); return d }
func (f *failer) Helper()                           {}
func (f *failer) Cleanup(fn func())                 { f.cleanups = append(f.cleanups, fn) }
func (f *failer) Skip(args ...any)                  { panic(failure{"skip"}) }

func (f *failer) cleanup() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
	f.cleanups = nil
}

func main() {
	// The protocol owns standard output; istiod's logs and anything else printed go to standard error.
	protocolFd, err := syscall.Dup(1)
	if err != nil {
		panic(err)
	}
	if err := syscall.Dup2(2, 1); err != nil {
		panic(err)
	}
	out := bufio.NewWriter(os.NewFile(uintptr(protocolFd), "protocol"))
	os.Stdout = os.Stderr
	quietLogs()

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 256<<20)
	for in.Scan() {
		line := in.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		var req request
		var res response
		started := time.Now()
		if err := json.Unmarshal(line, &req); err != nil {
			res = response{ID: json.RawMessage("null"), Error: "request is not valid JSON: " + err.Error()}
		} else {
			res = translate(req)
		}
		if len(res.ID) == 0 {
			res.ID = json.RawMessage("null")
		}
		res.Millis = time.Since(started).Milliseconds()
		if debug {
			fmt.Fprintf(os.Stderr, "istio-translate: set %s: %d ms, %d goroutines\n", res.ID, res.Millis, goruntime.NumGoroutine())
		}
		encoded, err := json.Marshal(res)
		if err != nil {
			encoded, _ = json.Marshal(response{ID: res.ID, Error: "encoding the answer: " + err.Error()})
		}
		_, _ = out.Write(append(encoded, '\n'))
		_ = out.Flush()
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "reading requests:", err)
		os.Exit(1)
	}
}

// debug (ISTIO_TRANSLATE_DEBUG set) logs istiod at info level and each set's time and goroutine count.
var debug = os.Getenv("ISTIO_TRANSLATE_DEBUG") != ""

func quietLogs() {
	o := istiolog.DefaultOptions()
	o.OutputPaths = []string{"stderr"}
	o.ErrorOutputPaths = []string{"stderr"}
	level := istiolog.ErrorLevel
	if debug {
		level = istiolog.InfoLevel
	}
	o.SetDefaultOutputLevel(istiolog.OverrideScopeName, level)
	for _, s := range istiolog.Scopes() {
		o.SetDefaultOutputLevel(s.Name(), level)
	}
	if err := istiolog.Configure(o); err != nil {
		fmt.Fprintln(os.Stderr, "configuring istio logs:", err)
	}
}

func translate(req request) (res response) {
	res.ID = req.ID
	configs, kubeObjects, warnings, errs := splitObjects(req.Objects)
	res.Warnings = warnings
	if len(errs) > 0 {
		res.Error = strings.Join(errs, "\n")
		return res
	}
	if req.ValidateOnly {
		res.Proxies = map[string]proxyConfig{}
		return res
	}
	// Each set's collections register with krt's process-wide debug handler; a fresh one per set lets a finished set's
	// state be collected instead of accumulating for the life of the process.
	krt.GlobalDebugHandler = new(krt.DebugHandler)
	f := &failer{}
	defer f.cleanup()
	defer func() {
		if r := recover(); r != nil {
			if fl, ok := r.(failure); ok {
				res.Error = "istiod: " + fl.message
			} else {
				res.Error = fmt.Sprintf("istiod panicked: %v", r)
			}
			res.Proxies = nil
		}
	}()
	options := xdsfake.FakeOptions{Configs: configs, KubernetesObjects: kubeObjects}
	if strings.TrimSpace(req.MeshConfig) != "" {
		m, err := mesh.ApplyMeshConfigDefaults(req.MeshConfig)
		if err != nil {
			res.Error = "mesh config: " + err.Error()
			return res
		}
		options.MeshConfig = m
	}
	s := xdsfake.NewFakeDiscoveryServer(f, options)
	if err := settle(f, s, configs, kubeObjects); err != nil {
		res.Error = "istiod: " + err.Error()
		return res
	}
	res.Proxies = map[string]proxyConfig{}
	for _, p := range req.Proxies {
		cfg, err := connect(s, p)
		if err != nil {
			res.Error = fmt.Sprintf("proxy %s.%s: %v", p.PodName, p.Namespace, err)
			res.Proxies = nil
			return res
		}
		res.Proxies[p.PodName+"."+p.Namespace] = cfg
	}
	return res
}

// splitObjects: Istio objects, checked as the validating webhook checks them, become configs (created a second apart
// in the order given, as applied one by one); everything else is a Kubernetes object for the fake API server.
func splitObjects(raw []json.RawMessage) (configs []config.Config, kubeObjects []runtime.Object, warnings, errs []string) {
	schemas := collections.PilotGatewayAPI()
	decode := kubelib.IstioCodec.UniversalDeserializer().Decode
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, object := range raw {
		var obj crd.IstioKind
		if err := json.Unmarshal(object, &obj); err != nil {
			errs = append(errs, fmt.Sprintf("objects[%d]: cannot decode configuration: %v", i, err))
			continue
		}
		gvk := obj.GroupVersionKind()
		where := fmt.Sprintf("objects[%d] %s %s/%s", i, obj.Kind, obj.Namespace, obj.Name)
		s, isIstio := schemas.FindByGroupKind(resource.FromKubernetesGVK(&gvk))
		if !isIstio {
			o, _, err := decode(object, nil, nil)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: not a Kubernetes object the fake API server knows: %v", where, err))
				continue
			}
			kubeObjects = append(kubeObjects, o)
			continue
		}
		if obj.Namespace == "" && !s.IsClusterScoped() {
			obj.Namespace = "default"
			where = fmt.Sprintf("objects[%d] %s %s/%s", i, obj.Kind, obj.Namespace, obj.Name)
		}
		cfg, err := crd.ConvertObject(s, &obj, domainSuffix)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: error decoding configuration: %v", where, err))
			continue
		}
		warning, err := s.ValidateConfig(*cfg)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: configuration is invalid: %v", where, err))
			continue
		}
		if warning != nil {
			warnings = append(warnings, fmt.Sprintf("%s: %v", where, warning))
		}
		if cfg.CreationTimestamp.IsZero() {
			cfg.CreationTimestamp = created.Add(time.Duration(i) * time.Second)
		}
		configs = append(configs, *cfg)
	}
	return configs, kubeObjects, warnings, errs
}

// connect subscribes as Envoy does on start (CDS, then EDS for the EDS clusters, LDS, then RDS for the routes the
// listeners name), ACKs each answer, and returns what istiod pushed.
func connect(s *xdsfake.FakeDiscoveryServer, p proxyRequest) (proxyConfig, error) {
	nodeType := model.SidecarProxy
	if p.Type == "router" {
		nodeType = model.Router
	} else if p.Type != "" && p.Type != "sidecar" {
		return proxyConfig{}, fmt.Errorf("type %q: expected sidecar or router", p.Type)
	}
	node := &core.Node{
		Id: fmt.Sprintf("%s~%s~%s.%s~%s.svc.%s", nodeType, p.IP, p.PodName, p.Namespace, p.Namespace, domainSuffix),
		Metadata: model.NodeMetadata{
			Namespace:      p.Namespace,
			Labels:         p.Labels,
			ClusterID:      "Kubernetes",
			IstioVersion:   istioVersion,
			ServiceAccount: p.ServiceAccount,
			InstanceIPs:    []string{p.IP},
			WorkloadName:   workloadName(p),
		}.ToStruct(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := grpc.NewClient("passthrough:///istiod",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return s.BufListener.Dial() }))
	if err != nil {
		return proxyConfig{}, err
	}
	defer conn.Close()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return proxyConfig{}, err
	}
	defer func() { _ = stream.CloseSend() }()
	fetch := func(typeURL string, names []string) ([]*anypb.Any, error) {
		req := &discovery.DiscoveryRequest{Node: node, TypeUrl: typeURL, ResourceNames: names}
		if err := stream.Send(req); err != nil {
			return nil, err
		}
		for {
			resp, err := stream.Recv()
			if err != nil {
				return nil, fmt.Errorf("%s: %v", typeURL, err)
			}
			ack := &discovery.DiscoveryRequest{Node: node, TypeUrl: resp.TypeUrl, ResourceNames: names, VersionInfo: resp.VersionInfo, ResponseNonce: resp.Nonce}
			if err := stream.Send(ack); err != nil {
				return nil, err
			}
			if resp.TypeUrl == typeURL {
				return resp.Resources, nil
			}
		}
	}
	var cfg proxyConfig
	clusters, err := fetch(v3.ClusterType, nil)
	if err != nil {
		return cfg, err
	}
	edsClusters, err := edsClusterNames(clusters)
	if err != nil {
		return cfg, err
	}
	var endpoints []*anypb.Any
	if len(edsClusters) > 0 {
		if endpoints, err = fetch(v3.EndpointType, edsClusters); err != nil {
			return cfg, err
		}
	}
	listeners, err := fetch(v3.ListenerType, nil)
	if err != nil {
		return cfg, err
	}
	routeNames, err := routeNames(listeners)
	if err != nil {
		return cfg, err
	}
	var routes []*anypb.Any
	if len(routeNames) > 0 {
		if routes, err = fetch(v3.RouteType, routeNames); err != nil {
			return cfg, err
		}
	}
	for _, section := range []struct {
		from []*anypb.Any
		to   *[]json.RawMessage
	}{{listeners, &cfg.Listeners}, {routes, &cfg.Routes}, {clusters, &cfg.Clusters}, {endpoints, &cfg.Endpoints}} {
		*section.to = []json.RawMessage{}
		for _, r := range section.from {
			js, err := config.ToJSON(r)
			if err != nil {
				return cfg, err
			}
			*section.to = append(*section.to, js)
		}
	}
	return cfg, nil
}

// workloadName: the Pod's owner name as the injector's pilot-agent reports it (`reviews-v1` for `reviews-v1-<hash>`
// Pods); the sandbox's `<deployment>-sandbox-<n>` Pods and bare names are taken as they are.
func workloadName(p proxyRequest) string {
	if i := strings.Index(p.PodName, "-sandbox-"); i > 0 {
		return p.PodName[:i]
	}
	return p.PodName
}

func edsClusterNames(resources []*anypb.Any) ([]string, error) {
	clusters, err := unmarshalClusters(resources)
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, c := range clusters {
		if c.GetType() == cluster.Cluster_EDS {
			names = append(names, c.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func routeNames(resources []*anypb.Any) ([]string, error) {
	listeners, err := unmarshalListeners(resources)
	if err != nil {
		return nil, err
	}
	names := networkingcore.ExtractRoutesFromListeners(listeners)
	sort.Strings(names)
	return names, nil
}

func unmarshalClusters(resources []*anypb.Any) ([]*cluster.Cluster, error) {
	out := make([]*cluster.Cluster, 0, len(resources))
	for _, r := range resources {
		c := &cluster.Cluster{}
		if err := r.UnmarshalTo(c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func unmarshalListeners(resources []*anypb.Any) ([]*listener.Listener, error) {
	out := make([]*listener.Listener, 0, len(resources))
	for _, r := range resources {
		l := &listener.Listener{}
		if err := r.UnmarshalTo(l); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}

// settle waits until istiod's registries hold every Service and ServiceEntry host of the set and every EndpointSlice
// address, then has istiod rebuild its push context from them and waits until that is committed. The fake server
// returns once its informers have synced, but the registries turn Kubernetes events into services and endpoints
// asynchronously; a proxy connecting before that gets configuration for a partial mesh (a VirtualService host
// without its Service becomes a port-80 virtual host, for one).
func settle(f *failer, s *xdsfake.FakeDiscoveryServer, configs []config.Config, kubeObjects []runtime.Object) error {
	hosts := []host.Name{}
	endpoints := map[[2]string]int{}
	for _, o := range kubeObjects {
		switch k := o.(type) {
		case *corev1.Service:
			hosts = append(hosts, host.Name(fmt.Sprintf("%s.%s.svc.%s", k.Name, namespaceOr(k.Namespace), domainSuffix)))
		case *discoveryv1.EndpointSlice:
			service := k.Labels[discoveryv1.LabelServiceName]
			host := fmt.Sprintf("%s.%s.svc.%s", service, namespaceOr(k.Namespace), domainSuffix)
			for _, e := range k.Endpoints {
				// Not-ready addresses may be left out of the index (PILOT_SEND_UNHEALTHY_ENDPOINTS), so only ready ones are
				// waited for.
				if e.Conditions.Ready != nil && !*e.Conditions.Ready {
					continue
				}
				endpoints[[2]string{host, namespaceOr(k.Namespace)}] += len(e.Addresses) * max(1, len(k.Ports))
			}
		}
	}
	for _, c := range configs {
		if se, ok := c.Spec.(*networking.ServiceEntry); ok {
			for _, h := range se.Hosts {
				hosts = append(hosts, host.Name(h))
			}
		}
	}
	missing := func() string {
		for _, h := range hosts {
			if s.Env().ServiceDiscovery.GetService(h) == nil {
				return "service " + string(h)
			}
		}
		for key, want := range endpoints {
			got := 0
			if shards, ok := s.Env().EndpointIndex.ShardsForService(key[0], key[1]); ok {
				shards.RLock()
				for _, eps := range shards.Shards {
					got += len(eps)
				}
				shards.RUnlock()
			}
			if got < want {
				return fmt.Sprintf("endpoints of %s (%d of %d)", key[0], got, want)
			}
		}
		return ""
	}
	deadline := time.Now().Add(10 * time.Second)
	for what := missing(); what != ""; what = missing() {
		if time.Now().After(deadline) {
			return fmt.Errorf("the registries did not settle within 10 s: still missing %s", what)
		}
		time.Sleep(time.Millisecond)
	}
	s.Discovery.ConfigUpdate(&model.PushRequest{Forced: true, Reason: model.NewReasonStats(model.GlobalUpdate)})
	// A guard: controllers that derive state from others (the VirtualService index, the ServiceEntry workload index)
	// can answer the registries' events with updates of their own, so wait until none has come in for quietPeriod.
	quiet := time.Now()
	for seen := s.Discovery.InboundUpdates.Load(); time.Since(quiet) < quietPeriod; {
		if time.Now().After(deadline) {
			return fmt.Errorf("istiod's updates did not settle within 10 s")
		}
		s.EnsureSynced(f)
		time.Sleep(time.Millisecond)
		if now := s.Discovery.InboundUpdates.Load(); now != seen {
			seen, quiet = now, time.Now()
		}
	}
	s.EnsureSynced(f)
	return nil
}

// quietPeriod: how long no update may arrive before istiod's state counts as settled.
const quietPeriod = 20 * time.Millisecond

func namespaceOr(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
