#!/usr/bin/env bash
# Install the pinned helm and kustomize binaries that `scan --helm`, `scan --kustomize`
# and their tests render with, straight from the Go module proxy:
#
#   go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION
#   go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION
#
# Each lands in its own cache directory outside the repository,
# ${KUBE_AUDITOR_TOOLS_CACHE:-$HOME/.cache/kube-auditor/tools}/<name>-<version>/, and a
# directory holding both (symlinks) is printed as the last line, ready for PATH:
#
#   PATH="$(bash e2e/install-tools.sh):$PATH"
#
# Idempotent: a cached binary whose version output matches the pin is reused, and then
# neither Go nor the network is needed. Progress and timings go to stderr.
#
# Usage: bash e2e/install-tools.sh [--force]
set -euo pipefail

# The pins (tests/render/tools.py reads these two lines).
HELM_VERSION=v3.22.0
KUSTOMIZE_VERSION=v5.8.2

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: bash e2e/install-tools.sh [--force]" >&2; exit 2 ;;
esac

CACHE_ROOT="${KUBE_AUDITOR_TOOLS_CACHE:-$HOME/.cache/kube-auditor/tools}"
HELM_DIR="$CACHE_ROOT/helm-$HELM_VERSION"
KUSTOMIZE_DIR="$CACHE_ROOT/kustomize-$KUSTOMIZE_VERSION"
BIN_DIR="$CACHE_ROOT/bin-helm-$HELM_VERSION-kustomize-$KUSTOMIZE_VERSION"

log() { printf '[install-tools] %s\n' "$*" >&2; }
die() { printf '[install-tools] ERROR: %s\n' "$*" >&2; exit 1; }

# Output captured first: grep -q exiting early would SIGPIPE the binary under pipefail.
helm_ok() {
  [[ -x "$HELM_DIR/helm" ]] || return 1
  local out
  out="$("$HELM_DIR/helm" version --template '{{.Version}}' 2>/dev/null)" || return 1
  [[ "$out" == "$HELM_VERSION" ]]
}
kustomize_ok() {
  [[ -x "$KUSTOMIZE_DIR/kustomize" ]] || return 1
  local out
  out="$("$KUSTOMIZE_DIR/kustomize" version 2>/dev/null)" || return 1
  [[ "$out" == "$KUSTOMIZE_VERSION" ]]
}

prepare_go() {
  command -v go >/dev/null 2>&1 || die "go not found on PATH: install Go >= 1.26 to build helm $HELM_VERSION and kustomize $KUSTOMIZE_VERSION"
  # Static binaries, no C toolchain; `go install pkg@version` ignores any go.mod around.
  export CGO_ENABLED=0 GO111MODULE=on
}

# go_install DIR PKG@VERSION [LDFLAGS]: build into a temp GOBIN, then move into DIR.
go_install() {
  local dir="$1" target="$2" ldflags="${3:-}" name t0=$SECONDS tmp
  name="$(basename "$dir")"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/kube-auditor-tools.XXXXXX")"
  log "-> go install $target"
  if ! GOBIN="$tmp" go install -trimpath -ldflags "-s -w $ldflags" "$target"; then
    rm -rf "$tmp"
    die "go install $target failed"
  fi
  mkdir -p "$dir"
  mv -f "$tmp"/* "$dir/"
  rm -rf "$tmp"
  log "   $name took $((SECONDS - t0))s"
}

total_t0=$SECONDS
mkdir -p "$CACHE_ROOT"

if [[ $force == 0 ]] && helm_ok; then
  log "helm $HELM_VERSION already installed, reusing $HELM_DIR/helm"
else
  prepare_go
  # helm reports its version from these variables (a plain `go install` says v3.x-unreleased).
  go_install "$HELM_DIR" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" \
    "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.metadata="
  helm_ok || die "installed helm does not report $HELM_VERSION: $("$HELM_DIR/helm" version --template '{{.Version}}' 2>&1 | head -n1)"
fi

if [[ $force == 0 ]] && kustomize_ok; then
  log "kustomize $KUSTOMIZE_VERSION already installed, reusing $KUSTOMIZE_DIR/kustomize"
else
  prepare_go
  # kustomize reads its version from the module's build info, so no ldflags are needed.
  go_install "$KUSTOMIZE_DIR" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  kustomize_ok || die "installed kustomize does not report $KUSTOMIZE_VERSION: $("$KUSTOMIZE_DIR/kustomize" version 2>&1 | head -n1)"
fi

mkdir -p "$BIN_DIR"
ln -sfn "$HELM_DIR/helm" "$BIN_DIR/helm"
ln -sfn "$KUSTOMIZE_DIR/kustomize" "$BIN_DIR/kustomize"
log "done in $((SECONDS - total_t0))s: helm $HELM_VERSION, kustomize $KUSTOMIZE_VERSION"
echo "$BIN_DIR"
