# Sourced by the ci.d steps that build Go tools: puts the machine's Go on PATH (Debian's golang-go may be too old for
# the pinned tools; the official tarball lives in /usr/local/go), or says what to install.
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
  else
    echo "go (1.24 or newer) is required to build $1 from the Go module proxy; install it from https://go.dev/dl into /usr/local/go" >&2
    exit 1
  fi
fi
