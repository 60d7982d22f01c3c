#!/usr/bin/env bash
# Build kube-apiserver and etcd at the versions pinned in e2e/versions.env,
# straight from the Go module proxy, and cache them outside the repository.
#
# Why from the module proxy: the e2e tests need a real API server (real RBAC,
# admission, dry-run, pagination), and the module proxy is the one source of
# Kubernetes code every developer and CI machine can reach. Nothing is vendored
# or committed: a throwaway Go module in a temp dir requires k8s.io/kubernetes
# and pins every k8s.io staging module with `replace` lines generated from that
# release's own go.mod.
#
# Idempotent: cached binaries whose --version matches the pins are reused.
# Output: the binaries in $KUBE_AUDITOR_E2E_CACHE/<k8s-version>/ (default
# ~/.cache/kube-auditor/e2e/<k8s-version>/); the last line printed is that dir.
#
# Usage: bash e2e/build-binaries.sh [--force]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
: "${K8S_VERSION:?K8S_VERSION missing from e2e/versions.env}"
: "${ETCD_VERSION:?ETCD_VERSION missing from e2e/versions.env}"

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: bash e2e/build-binaries.sh [--force]" >&2; exit 2 ;;
esac

# v1.37.2 -> staging modules are published as v0.37.2
STAGING_VERSION="v0.${K8S_VERSION#v1.}"
K8S_MAJOR=1
K8S_MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"
CACHE_ROOT="${KUBE_AUDITOR_E2E_CACHE:-$HOME/.cache/kube-auditor/e2e}"
OUT_DIR="$CACHE_ROOT/$K8S_VERSION"

log() { printf '[build-binaries] %s\n' "$*" >&2; }
die() { printf '[build-binaries] ERROR: %s\n' "$*" >&2; exit 1; }

# step NAME CMD...: run CMD and print how long it took.
step() {
  local name="$1"; shift
  local t0=$SECONDS
  log "-> $name"
  "$@"
  log "   $name took $((SECONDS - t0))s"
}

# Only building needs Go and curl; reusing cached binaries needs neither.
prepare_go() {
  [[ -z "${GOPROXY_URL:-}" ]] || return 0
  command -v go >/dev/null 2>&1 || die "go not found on PATH: install Go >= 1.26 to build kube-apiserver $K8S_VERSION"
  command -v curl >/dev/null 2>&1 || die "curl not found on PATH (needed to read the release go.mod from the module proxy)"
  log "go: $(go version)"
  # CGO off: a static binary, and no C toolchain needed (upstream builds these the same way).
  export CGO_ENABLED=0
  # -mod=mod: let the throwaway module resolve and record its own requirements.
  export GOFLAGS="${GOFLAGS:-} -mod=mod"
  GOPROXY_URL="$(go env GOPROXY | sed 's/[,|]/\n/g' | grep -E '^https?://' | head -n1 || true)"
  GOPROXY_URL="${GOPROXY_URL:-https://proxy.golang.org}"
}

# has_version BINARY LINE: BINARY exists and `BINARY --version` prints LINE.
# (Output captured first: grep -q exiting early would SIGPIPE the binary under pipefail.)
has_version() {
  [[ -x "$1" ]] || return 1
  local out
  out="$("$1" --version 2>/dev/null)" || return 1
  grep -qxF "$2" <<<"$out"
}
apiserver_ok() { has_version "$OUT_DIR/kube-apiserver" "Kubernetes $K8S_VERSION"; }
etcd_ok() { has_version "$OUT_DIR/etcd" "etcd Version: ${ETCD_VERSION#v}"; }

total_t0=$SECONDS
mkdir -p "$OUT_DIR"
work="$(mktemp -d "${TMPDIR:-/tmp}/kube-auditor-e2e-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
bin="$work/bin"   # fresh binaries land here, then move into the cache
mkdir -p "$bin"
log "cache dir: $OUT_DIR"

# ---------------------------------------------------------------- kube-apiserver
write_apiserver_module() {
  local mod="$work/apiserver"
  mkdir -p "$mod"
  curl -fsSL --retry 3 -o "$work/kubernetes.mod" \
    "$GOPROXY_URL/k8s.io/kubernetes/@v/$K8S_VERSION.mod" \
    || die "could not download $GOPROXY_URL/k8s.io/kubernetes/@v/$K8S_VERSION.mod"
  # The staging modules are the k8s.io/* entries that the release requires at
  # the placeholder v0.0.0 or replaces with ./staging/...; each is published
  # on its own as $STAGING_VERSION.
  local staging
  staging="$(awk '
      $1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }
      $1 ~ /^k8s\.io\// && $2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }
    ' "$work/kubernetes.mod" | sort -u)"
  [[ -n "$staging" ]] || die "found no k8s.io staging modules in k8s.io/kubernetes $K8S_VERSION go.mod"
  (
    cd "$mod"
    go mod init kube-auditor.invalid/e2e-apiserver >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
    local m
    for m in $staging; do
      go mod edit -replace="$m=$m@$STAGING_VERSION"
    done
  )
  log "   pinned $(echo "$staging" | wc -l) staging modules to $STAGING_VERSION"
}

build_apiserver() {
  prepare_go
  local mod="$work/apiserver"
  local pkg=k8s.io/kubernetes/cmd/kube-apiserver
  step "kube-apiserver: write throwaway module" write_apiserver_module
  step "kube-apiserver: download modules" \
    bash -c "cd '$mod' && go list -deps '$pkg' >/dev/null"
  local build_date
  build_date="$(cd "$mod" && go list -m -f '{{if .Time}}{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}{{end}}' k8s.io/kubernetes)"
  local ldflags="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$K8S_MAJOR -X $p.gitMinor=$K8S_MINOR"
    ldflags+=" -X $p.gitTreeState=archive -X $p.buildDate=${build_date:-1970-01-01T00:00:00Z}"
  done
  step "kube-apiserver: compile" \
    bash -c "cd '$mod' && go build -trimpath -ldflags '$ldflags' -o '$bin/kube-apiserver' '$pkg'"
  mv -f "$bin/kube-apiserver" "$OUT_DIR/kube-apiserver"
  apiserver_ok || die "built kube-apiserver does not report 'Kubernetes $K8S_VERSION': $("$OUT_DIR/kube-apiserver" --version 2>&1 | head -n1)"
}

# -------------------------------------------------------------------------- etcd
build_etcd() {
  prepare_go
  local mod="$work/etcd"
  local pkg=go.etcd.io/etcd/server/v3
  mkdir -p "$mod"
  (
    cd "$mod"
    go mod init kube-auditor.invalid/e2e-etcd >/dev/null 2>&1
    go mod edit -require="$pkg@$ETCD_VERSION"
  )
  step "etcd: download modules" bash -c "cd '$mod' && go list -deps '$pkg' >/dev/null"
  step "etcd: compile" \
    bash -c "cd '$mod' && go build -trimpath -ldflags '-s -w' -o '$bin/etcd' '$pkg'"
  mv -f "$bin/etcd" "$OUT_DIR/etcd"
  etcd_ok || die "built etcd does not report version ${ETCD_VERSION#v}: $("$OUT_DIR/etcd" --version 2>&1 | head -n1)"
}

if [[ $force == 0 ]] && apiserver_ok; then
  log "kube-apiserver $K8S_VERSION already built, reusing $OUT_DIR/kube-apiserver"
else
  build_apiserver
fi
if [[ $force == 0 ]] && etcd_ok; then
  log "etcd $ETCD_VERSION already built, reusing $OUT_DIR/etcd"
else
  build_etcd
fi

log "done in $((SECONDS - total_t0))s: kube-apiserver $K8S_VERSION, etcd $ETCD_VERSION"
log "binaries are in: $OUT_DIR (export KUBE_AUDITOR_E2E_BIN=$OUT_DIR to point the tests elsewhere)"
echo "$OUT_DIR"
