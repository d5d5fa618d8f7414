package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/plugins"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"google.golang.org/grpc"
)

const pluginName = "envoy_ext_authz_grpc"

// config is the plugin's configuration, as opa-envoy-plugin names it.
type config struct {
	Addr   string `json:"addr"`
	Path   string `json:"path"`
	DryRun bool   `json:"dry-run"`
	query  string
}

type factory struct{}

func (factory) Validate(_ *plugins.Manager, raw []byte) (any, error) {
	var known map[string]json.RawMessage
	if err := json.Unmarshal(raw, &known); err != nil {
		return nil, fmt.Errorf("%s: %w", pluginName, err)
	}
	for key := range known {
		switch key {
		case "addr", "path", "dry-run":
		default:
			// Refused rather than ignored: every other key of opa-envoy-plugin changes what the service does.
			return nil, fmt.Errorf("%s: configuration key %q is not supported by this build (supported: addr, path, dry-run)", pluginName, key)
		}
	}
	c := config{Addr: ":9191", Path: "envoy/authz/allow"}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", pluginName, err)
	}
	path := strings.Trim(strings.ReplaceAll(c.Path, "/", "."), ".")
	if path == "" {
		return nil, fmt.Errorf("%s: path must name a rule, e.g. envoy/authz/allow", pluginName)
	}
	if _, err := ast.ParseRef("data." + path); err != nil {
		return nil, fmt.Errorf("%s: path %q: %w", pluginName, c.Path, err)
	}
	c.query = "data." + path
	return &c, nil
}

func (factory) New(m *plugins.Manager, c any) plugins.Plugin {
	p := &plugin{manager: m, config: c.(*config)}
	m.RegisterCompilerTrigger(func(storage.Transaction) { p.invalidate() })
	m.UpdatePluginStatus(pluginName, &plugins.Status{State: plugins.StateNotReady})
	return p
}

type plugin struct {
	authv3.UnimplementedAuthorizationServer
	manager *plugins.Manager
	config  *config
	server  *grpc.Server

	mu       sync.Mutex
	prepared *rego.PreparedEvalQuery
}

func (p *plugin) Start(context.Context) error {
	listener, err := net.Listen("tcp", p.config.Addr)
	if err != nil {
		p.manager.UpdatePluginStatus(pluginName, &plugins.Status{State: plugins.StateErr, Message: err.Error()})
		return fmt.Errorf("%s: listen on %s: %w", pluginName, p.config.Addr, err)
	}
	p.server = grpc.NewServer()
	authv3.RegisterAuthorizationServer(p.server, p)
	go func() { _ = p.server.Serve(listener) }()
	p.manager.UpdatePluginStatus(pluginName, &plugins.Status{State: plugins.StateOK})
	return nil
}

func (p *plugin) Stop(context.Context) {
	if p.server != nil {
		p.server.Stop()
	}
	p.manager.UpdatePluginStatus(pluginName, &plugins.Status{State: plugins.StateNotReady})
}

func (p *plugin) Reconfigure(_ context.Context, c any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.config = c.(*config)
	p.prepared = nil
}

func (p *plugin) invalidate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.prepared = nil
}

// query is the decision's prepared query, prepared again after every policy or data change.
func (p *plugin) query(ctx context.Context) (rego.PreparedEvalQuery, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.prepared != nil {
		return *p.prepared, nil
	}
	prepared, err := rego.New(
		rego.Query(p.config.query),
		rego.Compiler(p.manager.GetCompiler()),
		rego.Store(p.manager.Store),
	).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, err
	}
	p.prepared = &prepared
	return prepared, nil
}
