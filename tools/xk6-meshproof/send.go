package meshproof

// send() is the driver script's whole iteration up to classification, in Go: pick the request of the rotation,
// set its x-request-id, send it through k6's HTTP machinery (httpext.MakeRequest: k6's metrics, cookie jar,
// timeouts as for http.request), and report an answer seen before. Done in JavaScript, the driver reached 0.77x plain
// k6's requests/s (bench row 1, GOMAXPROCS=1): http.request converts its arguments by reflection and reads the params
// object key by key (js/modules/k6/http parseRequest), and the rotation and id ran in the interpreter.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/sobek"
	k6http "go.k6.io/k6/js/modules/k6/http"
	"go.k6.io/k6/lib/netext/httpext"
)

// sendPlan is what prepare() receives (as JSON, once per VU): the rotation and each request as the script would
// have handed it to http.request.
type sendPlan struct {
	// Seed is the plan's seed as JavaScript's `seed >>> 0`; SeedText as `${seed}` (src/load/rotation.ts).
	Seed     uint32         `json:"seed"`
	SeedText string         `json:"seedText"`
	Limit    *float64       `json:"limit"`
	Weights  []float64      `json:"weights"`
	Timeout  float64        `json:"timeoutMs"`
	Requests []sendTemplate `json:"requests"`

	seedHash uint32
	total    float64
}

type sendTemplate struct {
	Method string  `json:"method"`
	URL    string  `json:"url"`
	Body   *string `json:"body"`
	// Headers in the order of the script's headers object, values as strings; the value of "x-request-id" is replaced
	// per request.
	Headers [][2]string `json:"headers"`
}

const requestIDHeader = "x-request-id"

// fmix32 is murmur3's 32-bit finaliser, as fmix32 in src/load/rotation.ts (bitwise on 32 bits there too).
func fmix32(h uint32) uint32 {
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// uniformAt is rotation.ts uniformAt: JavaScript's sum of fmix32(seed), Math.imul(n >>> 0, 0x9e3779b9) and
// floor(n / 2^32), taken >>> 0, is the same sum modulo 2^32 in uint32.
func (p *sendPlan) uniformAt(n uint64) float64 {
	return float64(fmix32(p.seedHash+uint32(n)*0x9e3779b9+uint32(n>>32))) / 4294967296
}

// pick is rotation.ts pickRequest, with the same float64 steps.
func (p *sendPlan) pick(n uint64) int {
	if len(p.Weights) <= 1 {
		return 0
	}
	x := p.uniformAt(n) * p.total
	for i, w := range p.Weights {
		x -= w
		if x < 0 {
			return i
		}
	}
	return len(p.Weights) - 1
}

// requestID is rotation.ts requestId: `mp-${seed}-${n}`.
func (p *sendPlan) requestID(n uint64) string {
	return "mp-" + p.SeedText + "-" + strconv.FormatUint(n, 10)
}

// prepare(plan JSON) sets this VU's requests; the script calls it in the VU's first iteration.
func (m *instance) prepare(call sobek.FunctionCall) sobek.Value {
	var plan sendPlan
	if err := json.Unmarshal([]byte(call.Argument(0).String()), &plan); err != nil {
		panic(m.vu.Runtime().NewGoError(fmt.Errorf("k6/x/meshproof: prepare: %w", err)))
	}
	if len(plan.Requests) == 0 || len(plan.Requests) != len(plan.Weights) {
		panic(m.vu.Runtime().NewGoError(fmt.Errorf("k6/x/meshproof: prepare: %d requests, %d weights", len(plan.Requests), len(plan.Weights))))
	}
	for _, r := range plan.Requests {
		if _, err := httpext.ToURL(r.URL); err != nil {
			panic(m.vu.Runtime().NewGoError(fmt.Errorf("k6/x/meshproof: prepare: %w", err)))
		}
	}
	plan.seedHash = fmix32(plan.Seed)
	for _, w := range plan.Weights {
		plan.total += w
	}
	m.plan = &plan
	return sobek.Undefined()
}

// expectedStatus is k6/http's default response callback (defaultExpectedStatuses, 200-399): what makes
// http_req_failed and the expected_response tag the same as for http.request.
func expectedStatus(status int) bool {
	return status >= 200 && status <= 399
}

// send() -> null when the iteration is past the plan's limit or its answer was reported here (same status and body
// as one classified before: the sink's known labels); else { response, index, sentAtMs, erroredLatencyMs } for the script to
// classify and hand to response().
func (m *instance) send(sobek.FunctionCall) sobek.Value {
	rt := m.vu.Runtime()
	state := m.vu.State()
	plan := m.plan
	if state == nil || plan == nil {
		panic(rt.NewGoError(fmt.Errorf("k6/x/meshproof: send() is only available in an iteration, after prepare()")))
	}
	n := state.GetScenarioGlobalVUIter()
	if plan.Limit != nil && float64(n) >= *plan.Limit {
		return sobek.Null()
	}
	index := plan.pick(n)
	template := &plan.Requests[index]
	req, err := m.parsedRequest(template, plan, plan.requestID(n))
	if err != nil {
		panic(rt.NewGoError(err))
	}
	// As Date.now() in the script: whole milliseconds.
	startedMs := time.Now().UnixMilli()
	sentAtMs := float64(startedMs) - m.originMs
	res, err := httpext.MakeRequest(m.vu.Context(), state, req)
	if err != nil {
		// What http.request does with it: throws.
		panic(rt.NewGoError(err))
	}
	erroredLatencyMs := 0.0
	if res.Status > 0 {
		s := m.sink()
		if labels := s.knownLabels(res.Status, bodyText(res)); labels != 0 {
			m.check(s.response(uint32(index), sentAtMs, latencyOf(res), uint16(res.Status), labels, 0))
			return sobek.Null()
		}
	} else {
		erroredLatencyMs = float64(time.Now().UnixMilli() - startedMs)
	}
	sent := rt.NewObject()
	// The same Go type http.request returns: the script reads status, error, error_code, headers and body from it.
	must(rt, sent.Set("response", &k6http.Response{Response: res}))
	must(rt, sent.Set("index", index))
	must(rt, sent.Set("sentAtMs", sentAtMs))
	must(rt, sent.Set("erroredLatencyMs", erroredLatencyMs))
	return sent
}

func must(rt *sobek.Runtime, err error) {
	if err != nil {
		panic(rt.NewGoError(err))
	}
}

// parsedRequest is what k6/http's parseRequest (js/modules/k6/http/request.go, k6 v1.8.1) makes of
// http.request(method, url, body, { headers, timeout }) in the driver's script: the options' user agent, response
// type, redirects and throw, the VU's tags and cookie jar, then the headers in the object's order.
func (m *instance) parsedRequest(t *sendTemplate, plan *sendPlan, requestID string) (*httpext.ParsedHTTPRequest, error) {
	state := m.vu.State()
	u, err := httpext.ToURL(t.URL)
	if err != nil {
		return nil, err
	}
	req := &httpext.ParsedHTTPRequest{
		URL:              &u,
		Req:              &http.Request{Method: t.Method, URL: u.GetURL(), Header: make(http.Header)},
		Timeout:          time.Duration(plan.Timeout * float64(time.Millisecond)),
		Throw:            state.Options.Throw.Bool,
		Redirects:        state.Options.MaxRedirects,
		Cookies:          make(map[string]*httpext.HTTPRequestCookie),
		ResponseCallback: expectedStatus,
		TagsAndMeta:      state.Tags.GetCurrentValues(),
	}
	if state.Options.DiscardResponseBodies.Bool {
		req.ResponseType = httpext.ResponseTypeNone
	} else {
		req.ResponseType = httpext.ResponseTypeText
	}
	if t.Body != nil {
		req.Body = bytes.NewBufferString(*t.Body)
	}
	req.Req.Header.Set("User-Agent", state.Options.UserAgent.String)
	if state.CookieJar != nil {
		req.ActiveJar = state.CookieJar
	}
	for _, h := range t.Headers {
		key, value := h[0], h[1]
		if key == requestIDHeader {
			value = requestID
		}
		if strings.ToLower(key) == "host" {
			req.Req.Host = value
		}
		req.Req.Header.Set(key, value)
	}
	if req.ActiveJar != nil {
		httpext.SetRequestCookies(req.Req, req.ActiveJar, req.Cookies)
	}
	return req, nil
}
