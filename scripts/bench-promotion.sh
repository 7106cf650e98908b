#!/usr/bin/env bash
# Promotion benchmark (manual, not part of CI): the seed PromotionTask against a GitOps repo of
# --files manifests and --commits commits, served over smart HTTP with basic auth by nginx +
# fcgiwrap + git-http-backend on 127.0.0.1, side by side with the hand-rolled promotion
# (`git clone --depth 1`, sed, commit, push). Each round runs, in this order:
#   baseline     the hand-rolled promotion in a fresh directory
#   gantry cold  `gantry task run` with a fresh --data-dir (first promotion: mirror clone)
#   gantry warm  `gantry task run` with one shared --data-dir (cached mirror, warmed up once)
# every one with a new tag, so each has a commit to push; each round must land exactly one
# commit with that tag on the server. Prints median/min/max wall time and median user/sys CPU
# time per variant (bash's `time`: this process and its children, not the server), and the
# speed-ups over the baseline. Exit status 1 when a round failed or landed no commit.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/bench-promotion.sh [--rounds N] [--files N] [--commits N] [--keep-going] [--pipeline DIR]

  --rounds N      timed rounds of each variant (default 5)
  --files N       generated manifests in the repository, besides the seed files (default 5000)
  --commits N     commits of its history (default 2000)
  --keep-going    time failed rounds too and report them instead of stopping at the first
  --pipeline DIR  manifests to run (default tests/fixtures/seed/pipeline); they need the Stage
                  frontend-dev-stage, a task var gitopsRepo, and must set
                  spec.values.deployment.tag in develop/frontend/instance.yaml to the Freight's tag

Needs nginx and fcgiwrap (scripts/test.sh installs them) and builds in release mode.
EOF
}

rounds=5 files=5000 commits=2000 keep_going=0
root=$(cd "$(dirname "$0")/.." && pwd)
pipeline=$root/tests/fixtures/seed/pipeline
while (($#)); do
	case $1 in
	--rounds | --files | --commits | --pipeline)
		[[ $# -ge 2 ]] || { echo "error: $1 needs a value" >&2; exit 2; }
		case $1 in
		--pipeline) pipeline=$(cd "$2" && pwd) ;;
		*)
			[[ $2 =~ ^[0-9]+$ && $2 -gt 0 ]] || { echo "error: $1 needs a positive number, not '$2'" >&2; exit 2; }
			declare "${1#--}=$2"
			;;
		esac
		shift 2
		;;
	--keep-going) keep_going=1 && shift ;;
	-h | --help) usage && exit 0 ;;
	*) echo "error: unknown argument '$1'" >&2 && usage >&2 && exit 2 ;;
	esac
done
cd "$root"

# Hermetic git for every command here (baseline, checks, and gantry's git children).
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 LC_ALL=C
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@gantry.test
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@gantry.test
export NO_COLOR=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gantry-bench.XXXXXX")
server_pid='' server_in=''
cleanup() {
	local status=$? i
	IFS=$' \t\n' # a signal can arrive inside `IFS= read`
	trap - EXIT INT TERM HUP
	if [[ -n $server_in ]]; then
		# The server stops nginx and fcgiwrap and removes its directory when its stdin closes.
		exec {server_in}>&-
		for ((i = 0; i < 100; i++)); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$server_pid" 2>/dev/null; then
			echo "warning: the git server did not stop; killing it (nginx or fcgiwrap may be left)" >&2
			kill -KILL "$server_pid" 2>/dev/null || true
		fi
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- build ----------------------------------------------------------------------------------
executable() { # the executable a `cargo build --message-format=json` run produced
	sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1
}
echo "building (release)..." >&2
gantry=$(cargo build --release --quiet -p gantry --bin gantry --message-format=json-render-diagnostics | executable)
server=$(cargo build --release --quiet -p gantry-test --example git-server --message-format=json-render-diagnostics | executable)
[[ -x $gantry && -x $server ]] || { echo "error: the build produced no executables" >&2; exit 1; }

# --- server ---------------------------------------------------------------------------------
user=bench
password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
echo "starting the git server and generating $files files / $commits commits..." >&2
# The server ignores the signals a terminal sends to the whole group (Ctrl-C, hang-up): it must
# live until `cleanup` closes its stdin, the only way that stops nginx and fcgiwrap too. If this
# script is killed outright, the pipe closes all the same.
coproc SERVER { trap '' INT TERM HUP QUIT; exec "$server" --files "$files" --commits "$commits" --user "$user" --password "$password" 2>"$tmp/server.log"; }
server_pid=$SERVER_PID
server_in=${SERVER[1]}
exec {server_out}<&"${SERVER[0]}"
url='' repo=''
while IFS= read -r -u "$server_out" line; do
	case $line in
	url=*) url=${line#url=} ;;
	repo=*) repo=${line#repo=} ;;
	ready) break ;;
	esac
done
if [[ -z $url || -z $repo ]]; then
	echo "error: the git server did not start:" >&2
	cat "$tmp/server.log" >&2
	exit 1
fi
auth_url=${url/#http:\/\//http://$user:$password@}

count() { git --git-dir="$repo" rev-list --count main; }
landed_tag() { git --git-dir="$repo" show main:develop/frontend/instance.yaml | sed -n 's/^ *tag: *//p' | head -n 1; }
mask() { sed "s/$password/***/g"; }

# --- the three promotions -------------------------------------------------------------------
freight() { # a Freight file for image tag $1
	local file=$tmp/freight/$1.yaml
	mkdir -p "$tmp/freight"
	cat >"$file" <<EOF
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata:
  namespace: develop
origin:
  kind: Warehouse
  name: frontend-dev-image
images:
- repoURL: docker.io/zxc204fghasd/wsp-web-server-v2
  tag: $1
  digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
EOF
	echo "$file"
}

baseline() { # tag dir: the hand-rolled promotion
	git clone --quiet --depth 1 --branch main "$auth_url" "$2"
	sed -i "s/^\( *tag:\) .*/\1 $1/" "$2/develop/frontend/instance.yaml"
	git -C "$2" commit --quiet -am "Updated develop/frontend/instance.yaml to $1"
	git -C "$2" push --quiet origin HEAD:main
}

gantry_run() { # freight-file data-dir
	"$gantry" task run -f "$pipeline" --stage frontend-dev-stage --freight "$1" \
		--var "gitopsRepo=$auth_url" --skip argocd-update --data-dir "$2"
}

# --- timing ---------------------------------------------------------------------------------
declare -A results=() # variant -> lines "real user sys ok"
declare -A shown=()   # variants whose failure output was shown
failures=0
timed() { # variant tag command...: runs and times command, checks one commit with the tag landed
	local variant=$1 tag=$2 before after times ok=1 log=$tmp/$1.log
	shift 2
	sync # start from a clean page cache writeback, not the previous round's deletions
	before=$(count)
	TIMEFORMAT='%3R %3U %3S'
	if ! { time "$@" >"$log" 2>&1; } 2>"$tmp/time"; then ok=0; fi
	times=$(tail -n 1 "$tmp/time")
	after=$(count)
	if ((ok)) && [[ $after -ne $((before + 1)) || $(landed_tag) != "$tag" ]]; then
		echo "error: $variant (tag $tag) succeeded but landed $((after - before)) commit(s), tag on main is $(landed_tag)" >&2
		ok=0
	fi
	results[$variant]+="$times $ok"$'\n'
	if ((!ok)); then
		failures=$((failures + 1))
		if [[ -z ${shown[$variant]:-} ]]; then # the first failure of each variant is enough
			shown[$variant]=1
			echo "  $variant failed (tag $tag), last lines of its output:" >&2
			tail -n 15 "$log" | mask | sed 's/^/    /' >&2
		fi
		((keep_going)) || exit 1
	fi
	printf '  %-12s %7.2fs%s\n' "$variant" "${times%% *}" "$( ((ok)) || echo '  FAILED')" >&2
}

echo "repository: $(git --git-dir="$repo" ls-tree -r --name-only main | wc -l) files, $(count) commits at $url" >&2
echo "warming up the shared data dir (untimed)..." >&2
if ! gantry_run "$(freight 0.0.1)" "$tmp/warm" >"$tmp/warm-up.log" 2>&1; then
	echo "  the warm-up promotion failed (its mirror is cached all the same):" >&2
	tail -n 15 "$tmp/warm-up.log" | mask | sed 's/^/    /' >&2
	((keep_going)) || exit 1
fi
for ((round = 1; round <= rounds; round++)); do
	echo "round $round/$rounds" >&2
	timed baseline "1.$round.0" baseline "1.$round.0" "$tmp/clone-$round"
	rm -rf "$tmp/clone-$round"
	timed "gantry cold" "1.$round.1" gantry_run "$(freight "1.$round.1")" "$tmp/cold-$round"
	rm -rf "$tmp/cold-$round"
	timed "gantry warm" "1.$round.2" gantry_run "$(freight "1.$round.2")" "$tmp/warm"
done

# --- report ---------------------------------------------------------------------------------
stats() { # variant -> "median min max median-user median-sys failed"
	printf '%s' "${results[$1]}" | awk '
		{ real[NR] = $1; user[NR] = $2; sys[NR] = $3; if (!$4) failed++ }
		function median(a, n,   i, j, t, s) {
			for (i = 1; i <= n; i++) s[i] = a[i]
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (s[j] < s[i]) { t = s[i]; s[i] = s[j]; s[j] = t }
			return n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
		}
		END {
			min = max = real[1]
			for (i = 2; i <= NR; i++) { if (real[i] < min) min = real[i]; if (real[i] > max) max = real[i] }
			printf "%.3f %.3f %.3f %.3f %.3f %d\n", median(real, NR), min, max, median(user, NR), median(sys, NR), failed
		}'
}
echo
echo "promotion benchmark: $rounds rounds, $files generated files, $commits commits, $(git --version)"
printf '%-12s %9s %9s %9s %9s %9s %8s\n' variant median min max user sys failed
declare -A median=()
for variant in baseline "gantry cold" "gantry warm"; do
	read -r med min max usr sys failed < <(stats "$variant")
	median[$variant]=$med
	printf '%-12s %8.2fs %8.2fs %8.2fs %8.2fs %8.2fs %8s\n' "$variant" "$med" "$min" "$max" "$usr" "$sys" "$failed"
done
speedup() { awk -v b="${median[baseline]}" -v g="${median[$1]}" 'BEGIN { printf "%.1f", (g > 0 ? b / g : 0) }'; }
warm=$(speedup "gantry warm")
if ((failures)); then
	verdict="not judged: $failures round(s) failed, their times are not valid promotions"
else
	verdict=$(awk -v s="$warm" 'BEGIN { print (s >= 5 ? "met" : "missed") }')
fi
echo "speed-up over the baseline (medians): cold $(speedup "gantry cold")x, warm ${warm}x" \
	"(goal warm >= 5x: $verdict)"
((failures == 0))
