// opa-envoy: the Open Policy Agent as shipped (its own command line, REST API, bundles, decision logs), built with
// one plugin added, envoy_ext_authz_grpc: Envoy's external authorization gRPC service
// (envoy.service.auth.v3.Authorization/Check) answered by a Rego decision. It stands in for OPA's own
// opa-envoy-plugin build (openpolicyagent/opa:*-envoy images), which the Go module proxy does not serve; the plugin's
// name, its configuration keys (addr, path, dry-run), the input document and the shapes of the decision follow that
// plugin's documentation (https://www.openpolicyagent.org/docs/envoy/primer), so a policy written for it runs as is.
package main

import (
	"errors"
	"io"
	"os"

	"github.com/open-policy-agent/opa/cmd"
	"github.com/open-policy-agent/opa/v1/runtime"
)

func main() {
	// The local target runs this as a pod of its mesh and sets MESHPROOF_EXIT_WITH_STDIN: when the mesh process
	// goes, so does its end of our stdin, and OPA with it (nothing is left listening after a killed run).
	if os.Getenv("MESHPROOF_EXIT_WITH_STDIN") == "1" {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			os.Exit(0)
		}()
	}
	runtime.RegisterPlugin(pluginName, factory{})
	if err := cmd.RootCommand.Execute(); err != nil {
		var exit *cmd.ExitError
		if errors.As(err, &exit) {
			os.Exit(exit.Exit)
		}
		os.Exit(1)
	}
}
