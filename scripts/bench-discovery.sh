#!/usr/bin/env bash
# Discovery benchmark (manual, not part of CI): `gantry warehouse discover` against the real
# Debian docker-registry with bearer-token auth, one repository of --tags tags, started by
# gantry-test's `registry` example on 127.0.0.1. Two scenarios, each on its own registry:
#   semver       every tag the same image; SemVer strategy, discoveryLimit 20
#   newestbuild  every tag its own image (one minute apart); NewestBuild, discoveryLimit 20,
#                which has to know the build time of every tag
# For each: one cold run (fresh data dir: empty metadata cache, no token) and --rounds repeat
# runs (same data dir, nothing changed in the registry). Prints wall time (median/min/max) and
# the requests each run sent (tag-list pages, manifest HEADs and GETs, config GETs, tokens),
# as counted by the client. Every run is a new process: its first request meets the registry's
# 401 challenge, hence one extra tag-list request and one token fetch per run.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/bench-discovery.sh [--tags N] [--rounds N] [--rate-limit N] [--only semver|newestbuild]

  --tags N        tags in the repository (default 1000)
  --rounds N      repeat discoveries per scenario (default 5)
  --rate-limit N  requests per second to the registry (default 20, Kargo's; 0 = none)
  --only S        run one scenario

Needs docker-registry, apache2-utils and openssl (scripts/test.sh installs them); builds in
release mode.
EOF
}

tags=1000 rounds=5 rate_limit=20 only=""
while (($#)); do
	case $1 in
	--rate-limit) rate_limit=${2:?--rate-limit needs a value} && shift 2 ;;
	--only) only=${2:?--only needs a value} && shift 2 ;;
	--tags | --rounds)
		[[ $# -ge 2 && $2 =~ ^[0-9]+$ && $2 -gt 0 ]] || { echo "error: $1 needs a positive number" >&2; exit 2; }
		declare "${1#--}=$2"
		shift 2
		;;
	-h | --help) usage && exit 0 ;;
	*) echo "error: unknown argument '$1'" >&2 && usage >&2 && exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
echo "building (release) ..." >&2
cargo build --release --locked -q -p gantry --bin gantry
cargo build --release --locked -q -p gantry-test --example registry
target=${CARGO_TARGET_DIR:-$root/target}/release
gantry=$target/gantry
example=$target/examples/registry

work=$(mktemp -d)
registry_pid=""
cleanup() {
	exec 3>&- 2>/dev/null || true
	[[ -n $registry_pid ]] && wait "$registry_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }

# Starts the example registry with the given flags; sets host, user, password.
start_registry() {
	local fifo_out=$work/registry.out
	rm -f "$work/registry.in" && mkfifo "$work/registry.in"
	"$example" --auth token --tags "$tags" "$@" <"$work/registry.in" >"$fifo_out" 2>"$work/registry.err" &
	registry_pid=$!
	exec 3>"$work/registry.in"
	for _ in $(seq 600); do
		grep -q '^ready$' "$fifo_out" 2>/dev/null && break
		kill -0 "$registry_pid" 2>/dev/null || { cat "$work/registry.err" >&2; exit 1; }
		sleep 0.1
	done
	grep -q '^ready$' "$fifo_out" || { echo "error: the registry did not come up" >&2; exit 1; }
	host=$(sed -n 's/^host=//p' "$fifo_out")
	user=$(sed -n 's/^user=//p' "$fifo_out")
	password=$(sed -n 's/^password=//p' "$fifo_out")
	echo "registry: $(grep -E '^(start|push|tag)_ms=' "$fifo_out" | tr '\n' ' ')" >&2
}

stop_registry() {
	exec 3>&-
	wait "$registry_pid" 2>/dev/null || true
	registry_pid=""
}

write_manifests() { # strategy
	cat >"$work/warehouse.yaml" <<EOF
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata:
  name: bench
  namespace: bench
spec:
  subscriptions:
  - image:
      repoURL: $host/bench/app
      imageSelectionStrategy: $1
      discoveryLimit: 20
---
apiVersion: v1
kind: Secret
metadata:
  name: registry
  namespace: bench
  labels:
    kargo.akuity.io/cred-type: image
stringData:
  repoURL: $host/bench/app
  username: $user
  password: $password
EOF
}

# One discovery; prints "<ms> <note>".
discover() { # data-dir
	local start end out
	start=$(now_ms)
	out=$("$gantry" warehouse discover -f "$work/warehouse.yaml" --data-dir "$1" --registry-rate-limit "$rate_limit" -o json 2>/dev/null)
	end=$(now_ms)
	local note
	note=$(printf '%s' "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; assert r["freight"], r; print(r["notes"][0]["note"])')
	echo "$((end - start)) $note"
}

stats() { # values...
	printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {printf "median %d ms (min %d, max %d)", a[int((NR+1)/2)], a[1], a[NR]}'
}

scenario() { # name strategy [example flags]
	local name=$1 strategy=$2
	shift 2
	start_registry "$@"
	write_manifests "$strategy"
	local data=$work/data-$name
	rm -rf "$data"
	local cold
	cold=$(discover "$data")
	echo "$name cold:   ${cold%% *} ms  [${cold#* }]"
	local times=() last=""
	for _ in $(seq "$rounds"); do
		local run
		run=$(discover "$data")
		times+=("${run%% *}")
		last=${run#* }
	done
	echo "$name repeat: $(stats "${times[@]}")  [$last]"
	stop_registry
}

echo "discovery of one repository with $tags tags, token auth, $rounds repeats, rate limit $rate_limit/s"
[[ -z $only || $only == semver ]] && scenario semver SemVer
[[ -z $only || $only == newestbuild ]] && scenario newestbuild NewestBuild --distinct
exit 0
