// Package meshproof is the k6 extension behind meshproof's k6 driver: it sends the plan's requests (send.go), and
// the generated script hands it each response it classified (the k6 response, whose status and latency it reads in
// Go, with request index, send time, interned labels and error); it writes every response as fixed-size
// little-endian binary records to the file descriptor named by MESHPROOF_RECORDS_FD, which the driver (Node) reads
// until EOF. It replaces one console.log line per response, whose formatting in k6 and parsing in Node cost more
// than the request itself. The format is decoded by src/load/k6-records.ts; keep the two in step.
//
// Records (little endian), each starting with a one-byte tag:
//
//	1 string:   u32 id, u32 length, UTF-8 bytes      (emitted once, before the first record that uses the id)
//	2 origin:   f64 scenario start (Unix ms)
//	3 response: u32 request index, f64 sent at (ms since origin), f64 latency ms, u16 status (0: transport error),
//	            u32 labels id (a JSON object), u32 error id (0: none)
package meshproof

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/grafana/sobek"
	"go.k6.io/k6/js/modules"
	k6http "go.k6.io/k6/js/modules/k6/http"
	"go.k6.io/k6/lib/netext/httpext"
)

const (
	tagString   = 1
	tagOrigin   = 2
	tagResponse = 3

	responseSize = 1 + 4 + 8 + 8 + 2 + 4 + 4
	// Bounds the labels remembered by status and body (see knownLabels): a load mostly repeats a few answers.
	knownMax     = 256
	knownMaxBody = 1024
	// Records reach the driver at least this often while the test runs (its progress display reads them).
	flushInterval = 50 * time.Millisecond
)

func init() {
	modules.Register("k6/x/meshproof", &rootModule{})
}

// sink is shared by every VU of the process: one buffered writer on the records descriptor, one string table.
type sink struct {
	mu   sync.Mutex
	out  *bufio.Writer
	file *os.File
	ids  map[string]uint32
	// Labels id by status and body, for answered responses whose classification read nothing else.
	known      map[int]map[string]uint32
	knownCount int
	err        error
	scratch    [responseSize]byte
}

var (
	shared     *sink
	sharedErr  error
	sharedOnce sync.Once
)

func openSink() (*sink, error) {
	sharedOnce.Do(func() {
		value := os.Getenv("MESHPROOF_RECORDS_FD")
		fd, err := strconv.Atoi(value)
		if err != nil || fd < 3 {
			sharedErr = fmt.Errorf("k6/x/meshproof: MESHPROOF_RECORDS_FD must name an open file descriptor >= 3 (got %q); the module is meant to be run by meshproof's k6 driver", value)
			return
		}
		file := os.NewFile(uintptr(fd), "meshproof-records")
		shared = &sink{out: bufio.NewWriterSize(file, 64<<10), file: file, ids: map[string]uint32{}, known: map[int]map[string]uint32{}}
		go shared.flushEvery(flushInterval)
	})
	return shared, sharedErr
}

func (s *sink) flushEvery(interval time.Duration) {
	for range time.Tick(interval) {
		s.flush()
	}
}

func (s *sink) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = s.out.Flush()
	}
	return s.err
}

// intern returns the id of a string, writing the string record the first time (ids start at 1; 0 means none).
func (s *sink) intern(value string) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[value]; ok {
		return id, s.err
	}
	id := uint32(len(s.ids) + 1)
	s.ids[value] = id
	var head [9]byte
	head[0] = tagString
	binary.LittleEndian.PutUint32(head[1:], id)
	binary.LittleEndian.PutUint32(head[5:], uint32(len(value)))
	s.write(head[:])
	s.write([]byte(value))
	return id, s.err
}

func (s *sink) origin(ms float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rec [9]byte
	rec[0] = tagOrigin
	binary.LittleEndian.PutUint64(rec[1:], math.Float64bits(ms))
	s.write(rec[:])
	return s.err
}

func (s *sink) response(index uint32, sentAt, latency float64, status uint16, labels, errorID uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.scratch[:]
	rec[0] = tagResponse
	binary.LittleEndian.PutUint32(rec[1:], index)
	binary.LittleEndian.PutUint64(rec[5:], math.Float64bits(sentAt))
	binary.LittleEndian.PutUint64(rec[13:], math.Float64bits(latency))
	binary.LittleEndian.PutUint16(rec[21:], status)
	binary.LittleEndian.PutUint32(rec[23:], labels)
	binary.LittleEndian.PutUint32(rec[27:], errorID)
	s.write(rec)
	return s.err
}

// knownLabels is the labels id remembered for this status and body, or 0.
func (s *sink) knownLabels(status int, body string) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.known[status][body]
}

func (s *sink) remember(status int, body string, labels uint32) {
	if len(body) > knownMaxBody {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byBody := s.known[status]
	if byBody == nil {
		byBody = map[string]uint32{}
		s.known[status] = byBody
	}
	if _, ok := byBody[body]; !ok && s.knownCount < knownMax {
		byBody[body] = labels
		s.knownCount++
	}
}

// write keeps the first error: after it nothing more is written, and every call reports it.
func (s *sink) write(b []byte) {
	if s.err == nil {
		_, s.err = s.out.Write(b)
	}
}

type rootModule struct{}

type instance struct {
	vu modules.VU
	// This VU's requests, from prepare(); the scenario's start (Unix ms) from origin().
	plan     *sendPlan
	originMs float64
}

func (*rootModule) NewModuleInstance(vu modules.VU) modules.Instance {
	return &instance{vu: vu}
}

func (m *instance) Exports() modules.Exports {
	return modules.Exports{Named: map[string]any{
		"intern":   m.intern,
		"origin":   m.origin,
		"response": m.response,
		"flush":    m.flush,
		"prepare":  m.prepare,
		"send":     m.send,
	}}
}

func (m *instance) sink() *sink {
	s, err := openSink()
	if err != nil {
		panic(m.vu.Runtime().NewGoError(err))
	}
	return s
}

func (m *instance) check(err error) {
	if err != nil {
		panic(m.vu.Runtime().NewGoError(fmt.Errorf("k6/x/meshproof: writing records: %w", err)))
	}
}

// intern(string) -> id
func (m *instance) intern(call sobek.FunctionCall) sobek.Value {
	id, err := m.sink().intern(call.Argument(0).String())
	m.check(err)
	return m.vu.Runtime().ToValue(id)
}

// origin(unix ms)
func (m *instance) origin(call sobek.FunctionCall) sobek.Value {
	m.originMs = call.Argument(0).ToFloat()
	m.check(m.sink().origin(m.originMs))
	return sobek.Undefined()
}

// response(http response, request index, sent at ms, labels id, error id, latency ms when the response has no status,
// remember) reports a response the script classified; remember: its labels depend on its status and body only.
//
// Status and latency are read from the k6 response in Go: reading res.timings from JavaScript converts the whole
// timings struct into a new object per response.
func (m *instance) response(call sobek.FunctionCall) sobek.Value {
	res := m.httpResponse(call.Argument(0))
	labels := uint32(call.Argument(3).ToInteger())
	latency := call.Argument(5).ToFloat()
	if res.Status > 0 {
		latency = latencyOf(res)
	}
	s := m.sink()
	if res.Status > 0 && call.Argument(6).ToBoolean() {
		s.remember(res.Status, bodyText(res), labels)
	}
	m.check(s.response(uint32(call.Argument(1).ToInteger()), call.Argument(2).ToFloat(), latency, uint16(res.Status), labels, uint32(call.Argument(4).ToInteger())))
	return sobek.Undefined()
}

func (m *instance) httpResponse(value sobek.Value) *httpext.Response {
	res, ok := value.Export().(*k6http.Response)
	if !ok || res.Response == nil {
		panic(m.vu.Runtime().NewGoError(fmt.Errorf("k6/x/meshproof: expected a k6/http response (got %v)", value)))
	}
	return res.Response
}

// latencyOf is from the first byte written (a new connection's set-up included) to the last byte read, as the
// autocannon driver measures it.
func latencyOf(res *httpext.Response) float64 {
	t := res.Timings
	return t.Connecting + t.TLSHandshaking + t.Duration
}

// bodyText is the body as the classifiers see it (K6Record.body): the text, or "" when k6 discarded it.
func bodyText(res *httpext.Response) string {
	if text, ok := res.Body.(string); ok {
		return text
	}
	return ""
}

// flush() writes what is buffered; the script calls it from handleSummary, after the last response.
func (m *instance) flush(sobek.FunctionCall) sobek.Value {
	m.check(m.sink().flush())
	return sobek.Undefined()
}
