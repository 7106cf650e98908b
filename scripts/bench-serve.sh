#!/usr/bin/env bash
# `gantry serve` benchmarks (manual, not part of CI), on real components started on 127.0.0.1:
#   latency    a docker-registry notifies gantry (distribution webhook receiver) of each pushed
#              tag; time from the tag push to the GitOps commit of the auto-promotion to develop
#              on the git server (nginx + git-http-backend, basic auth): p50/p95/min/max over
#              --tags tags, pushed --pause-ms after the previous commit landed
#   footprint  resident memory of the `gantry serve` process: idle with the seed pipeline, and
#              with --warehouses generated Warehouses and Stages once each has its Freight
# Both run in release mode as ignored tests (crates/gantry-server/tests/it/webhooks.rs,
# crates/gantry/tests/it/footprint.rs) and print their figures.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/bench-serve.sh [--tags N] [--pause-ms N] [--warehouses N] [--only latency|footprint]

  --tags N         tags pushed for the latency figures (default 50)
  --pause-ms N     pause between a commit and the next push (default 1500; 50 = back to back,
                   bounded by the registry rate limit of 20 requests/s)
  --warehouses N   generated Warehouses and Stages for the footprint (default 1000)
  --only S         run one benchmark

Needs docker-registry, nginx, fcgiwrap and apache2-utils (scripts/test.sh installs them).
USAGE
}

tags=50 pause=1500 warehouses=1000 only=""
while (($#)); do
	case "$1" in
	--tags) tags="$2"; shift 2 ;;
	--pause-ms) pause="$2"; shift 2 ;;
	--warehouses) warehouses="$2"; shift 2 ;;
	--only) only="$2"; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.."

if [[ -z "$only" || "$only" == latency ]]; then
	GANTRY_BENCH_TAGS="$tags" GANTRY_BENCH_PAUSE_MS="$pause" \
		cargo test --release --locked -q -p gantry-server --test it -- \
		--ignored --nocapture --exact webhooks::latency_from_tag_push_with_registry_webhook_to_gitops_commit 2>&1 |
		grep -E '^(tag push|thread|test result: FAILED)' || { echo "latency benchmark failed" >&2; exit 1; }
fi
if [[ -z "$only" || "$only" == footprint ]]; then
	GANTRY_BENCH_WAREHOUSES="$warehouses" \
		cargo test --release --locked -q -p gantry --test it -- \
		--ignored --nocapture --exact footprint::footprint_idle_with_the_seed_pipeline_and_with_1000_warehouses_and_stages 2>&1 |
		grep -E '(RSS|^thread|test result: FAILED)' || { echo "footprint benchmark failed" >&2; exit 1; }
fi
