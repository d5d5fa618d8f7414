package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/open-policy-agent/opa/v1/rego"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

// Check answers Envoy's ext_authz call with the policy's decision. A decision that cannot be made (no policy, an
// evaluation error, a result of the wrong shape) is a gRPC error, which Envoy's ext_authz filter treats as a failed
// check (status_on_error, or failure_mode_allow).
func (p *plugin) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	input, err := inputOf(req)
	if err != nil {
		return nil, err
	}
	query, err := p.query(ctx)
	if err != nil {
		return nil, fmt.Errorf("preparing %s: %w", p.config.query, err)
	}
	results, err := query.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		return nil, fmt.Errorf("evaluating %s: %w", p.config.query, err)
	}
	d, err := decisionOf(results, p.config.query)
	if err != nil {
		return nil, err
	}
	if p.config.DryRun {
		d.allowed = true
	}
	return responseOf(d), nil
}

// inputOf is the input document opa-envoy-plugin builds: the CheckRequest as protojson (attributes.request.http...),
// with the path and query parsed and a JSON body parsed.
func inputOf(req *authv3.CheckRequest) (map[string]any, error) {
	raw, err := protojson.MarshalOptions{UseProtoNames: false}.Marshal(req)
	if err != nil {
		return nil, err
	}
	var input map[string]any
	if err := json.Unmarshal(raw, &input); err != nil {
		return nil, err
	}
	httpReq := req.GetAttributes().GetRequest().GetHttp()
	path, query, _ := strings.Cut(httpReq.GetPath(), "?")
	segments := []any{}
	for _, s := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if unescaped, err := url.PathUnescape(s); err == nil {
			s = unescaped
		}
		segments = append(segments, s)
	}
	input["parsed_path"] = segments
	parsedQuery := map[string]any{}
	if values, err := url.ParseQuery(query); err == nil {
		for k, vs := range values {
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			parsedQuery[k] = list
		}
	}
	input["parsed_query"] = parsedQuery
	input["parsed_body"] = nil
	input["truncated_body"] = false
	if body := httpReq.GetBody(); body != "" && strings.Contains(httpReq.GetHeaders()["content-type"], "json") {
		var parsed any
		if err := json.Unmarshal([]byte(body), &parsed); err == nil {
			input["parsed_body"] = parsed
		}
		if length, ok := httpReq.GetHeaders()["content-length"]; ok && length != fmt.Sprint(len(body)) {
			input["truncated_body"] = true
		}
	}
	input["version"] = map[string]any{"encoding": "protojson", "ext_authz": "v3"}
	return input, nil
}

type decision struct {
	allowed bool
	status  int
	body    string
	headers map[string]string
}

// decisionOf reads the rule's value: a boolean, or an object with allowed, http_status, body and headers.
func decisionOf(results rego.ResultSet, query string) (decision, error) {
	if len(results) == 0 || len(results[0].Expressions) == 0 {
		return decision{}, fmt.Errorf("%s is undefined: no policy decides it", query)
	}
	switch v := results[0].Expressions[0].Value.(type) {
	case bool:
		return decision{allowed: v}, nil
	case map[string]any:
		d := decision{headers: map[string]string{}}
		allowed, ok := v["allowed"].(bool)
		if !ok {
			return decision{}, fmt.Errorf("%s: the decision object's allowed must be a boolean", query)
		}
		d.allowed = allowed
		if s, ok := v["http_status"]; ok {
			n, ok := s.(json.Number)
			if !ok {
				return decision{}, fmt.Errorf("%s: http_status must be a number", query)
			}
			code, err := n.Int64()
			if err != nil || code < 100 || code > 599 {
				return decision{}, fmt.Errorf("%s: http_status %v is not an HTTP status", query, s)
			}
			d.status = int(code)
		}
		if b, ok := v["body"]; ok {
			s, ok := b.(string)
			if !ok {
				return decision{}, fmt.Errorf("%s: body must be a string", query)
			}
			d.body = s
		}
		if h, ok := v["headers"]; ok {
			m, ok := h.(map[string]any)
			if !ok {
				return decision{}, fmt.Errorf("%s: headers must be an object of strings", query)
			}
			for k, hv := range m {
				s, ok := hv.(string)
				if !ok {
					return decision{}, fmt.Errorf("%s: header %q must be a string", query, k)
				}
				d.headers[k] = s
			}
		}
		return d, nil
	default:
		return decision{}, fmt.Errorf("%s must be a boolean or an object, got %T", query, v)
	}
}

func responseOf(d decision) *authv3.CheckResponse {
	var headers []*corev3.HeaderValueOption
	for k, v := range d.headers {
		headers = append(headers, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v}})
	}
	if d.allowed {
		return &authv3.CheckResponse{
			Status:       &rpcstatus.Status{Code: int32(code.Code_OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{Headers: headers}},
		}
	}
	status := d.status
	if status == 0 {
		status = 403
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(code.Code_PERMISSION_DENIED)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(status)},
			Headers: headers,
			Body:    d.body,
		}},
	}
}
