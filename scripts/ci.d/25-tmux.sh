#!/usr/bin/env bash
# Debian's tmux: test/catalogue/tutorial-tmux.test.ts drives `meshproof tutorial` in a real terminal with it.
# Idempotent: returns at once when tmux is already installed.
set -euo pipefail

if command -v tmux >/dev/null 2>&1; then
  echo "tmux present: $(tmux -V)"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends tmux >/dev/null
echo "tmux installed: $(tmux -V)"
