#!/usr/bin/env bash
# The README quickstart: gantry serve on real components, on 127.0.0.1.
#
#   scripts/quickstart.sh [--dir DIR]            start everything and show a promotion flow
#   scripts/quickstart.sh push TAG [--dir DIR]   push frontend:TAG to the running quickstart
#   scripts/quickstart.sh stop [--dir DIR]       stop everything it started
#
# Start: builds gantry and the quickstart lab (`cargo build --release`; GANTRY_PROFILE=debug for
# the debug build), then starts, all under DIR (default .gantry-quickstart/ in the repository):
# a git smart-HTTP server with basic auth (nginx + fcgiwrap + git-http-backend) holding a GitOps
# repository shaped like the seeds', a docker-registry whose push notifications go to gantry's
# `distribution` webhook, and `gantry serve` with the seeds' pipeline (Warehouse, Stages
# develop -> production, the shared PromotionTask; develop auto-promotes). It pushes
# frontend:1.0.0 and 1.1.0, shows the Freight, the automatic promotions to develop and their
# commits, promotes 1.1.0 to production by hand, and leaves everything running. Every wait has
# a timeout; the script exits non-zero when one runs out.
#
# Starting while a quickstart runs in DIR fails (stop it first). Otherwise DIR is wiped and made
# afresh; a DIR this script did not make is refused unless it is empty.
#
# Stop: sends SIGTERM to the process group of every process recorded in DIR/pids (those still
# running from DIR), waits up to 10 s, then SIGKILL; reports what it stopped.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MARKER=.gantry-quickstart
TIMEOUT=${QUICKSTART_TIMEOUT:-30}

die() {
  echo "error: $*" >&2
  exit 1
}

usage() {
  echo "usage:" >&2
  sed -n '4,6p' "$0" | sed 's/^#//' >&2
  exit 2
}

command=start
dir=$ROOT/.gantry-quickstart
tag=
while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    start | stop) command=$1; shift ;;
    push) command=push; [ $# -ge 2 ] || usage; tag=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
if [ -d "$dir" ]; then dir=$(cd "$dir" && pwd); fi

case ${GANTRY_PROFILE:-release} in
  release) profile=release; profile_flag=(--release) ;;
  debug) profile=debug; profile_flag=() ;;
  *) die "GANTRY_PROFILE must be release or debug, not ${GANTRY_PROFILE}" ;;
esac
target_dir=${CARGO_TARGET_DIR:-$ROOT/target}
case $target_dir in /*) ;; *) target_dir=$ROOT/$target_dir ;; esac
bin_dir=$target_dir/$profile
gantry=$bin_dir/gantry
lab=$bin_dir/examples/quickstart-lab

# --- processes --------------------------------------------------------------------------------

# Whether process $1 runs (zombies do not count: nothing may be left to reap them).
alive() {
  local stat
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Whether process $1 runs and was started for this quickstart: its command line names $dir.
ours() {
  alive "$1" && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$dir/"
}

# The recorded processes of $dir that still run, as `name:pid` words.
running() {
  local file pid
  for file in "$dir"/pids/*.pid; do
    [ -f "$file" ] || continue
    pid=$(cat "$file")
    if [[ $pid =~ ^[0-9]+$ ]] && ours "$pid"; then
      echo "$(basename "$file" .pid):$pid"
    fi
  done
}

# Living members of process group $1.
group_members() {
  local stat rest state pgrp
  for stat in /proc/[0-9]*/stat; do
    { read -r rest <"$stat"; } 2>/dev/null || continue
    rest=${rest##*) }
    # state ppid pgrp ...
    read -r state _ pgrp _ <<<"$rest"
    if [ "$pgrp" = "$1" ] && [ "$state" != Z ]; then
      stat=${stat#/proc/}
      echo "${stat%/stat}"
    fi
  done
}

stop() {
  local entries entry name pid deadline left
  entries=$(running)
  if [ -z "$entries" ]; then
    echo "nothing of the quickstart runs in $dir"
    rm -f "$dir"/pids/*.pid 2>/dev/null || true
    return 0
  fi
  for entry in $entries; do
    pid=${entry#*:}
    # Each recorded process leads its own process group (fcgiwrap's workers, gantry's git).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  deadline=$((SECONDS + 10))
  while :; do
    left=()
    for entry in $entries; do
      pid=${entry#*:}
      if alive "$pid" || [ -n "$(group_members "$pid")" ]; then left+=("$entry"); fi
    done
    [ ${#left[@]} -gt 0 ] || break
    if [ $SECONDS -ge $deadline ]; then
      echo "still running after 10 s, killing: ${left[*]}"
      for entry in "${left[@]}"; do kill -KILL -- "-${entry#*:}" 2>/dev/null || true; done
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  for entry in $entries; do
    name=${entry%%:*} pid=${entry#*:}
    if alive "$pid"; then
      die "$name (pid $pid) is still running"
    fi
    echo "stopped $name (pid $pid)"
    rm -f "$dir/pids/$name.pid"
  done
}

# --- output -------------------------------------------------------------------------------------

# A path as shown: relative to the current directory when inside it.
shown() {
  case $1 in "$PWD"/*) echo "${1#"$PWD"/}" ;; *) echo "$1" ;; esac
}

start_ms=0
now_ms() { echo $(($(date +%s%N) / 1000000)); }
elapsed() {
  local ms=$(($(now_ms) - start_ms))
  printf '%d.%01d s' $((ms / 1000)) $((ms % 1000 / 100))
}
step() { printf '[%7s] %s\n' "$(elapsed)" "$*"; }
section() { printf '\n== %s\n' "$*"; }

# show DISPLAY COMMAND...: shows DISPLAY (the command as the user would type it), then runs
# COMMAND with its output indented.
show() {
  local display=$1 out
  shift
  printf '$ %s\n' "$display"
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" | sed 's/^/  /'
    fail "\`$display\` failed"
  fi
  printf '%s\n' "$out" | sed 's/^/  /'
}

# The same for a gantry command (the quickstart's server and token come from the environment).
show_gantry() { show "gantry $*" "$gantry" "$@"; }

fail() {
  echo "error: $*" >&2
  echo "  gantry's log: $(shown "$dir/logs/gantry.log")" >&2
  echo "  everything started is still running, for a look; stop it: scripts/quickstart.sh stop$dir_arg" >&2
  exit 1
}

# wait_for WHAT COMMAND...: runs COMMAND until it succeeds, failing after $TIMEOUT s or when
# gantry exits.
wait_for() {
  local what=$1 deadline=$((SECONDS + TIMEOUT))
  shift
  until "$@" >/dev/null 2>&1; do
    if ! alive "$gantry_pid"; then
      tail -n 20 "$dir/logs/gantry.log" >&2 || true
      fail "gantry serve exited while waiting for $what"
    fi
    [ $SECONDS -lt $deadline ] || fail "timed out after ${TIMEOUT} s waiting for $what"
    sleep 0.05
  done
}

# --- checks the waits use --------------------------------------------------------------------------

# The tag of an environment's instance on main of the GitOps repository.
deployed_tag() {
  git --git-dir "$GITOPS_REPO" show "main:$1/frontend/instance.yaml" |
    sed -n 's/^ *tag: *"\{0,1\}\([^" #]*\)"\{0,1\}.*/\1/p'
}
tag_is() { [ "$(deployed_tag "$1")" = "$2" ]; }

# The alias of the Freight holding frontend:$1 (empty when there is none yet).
alias_of() {
  "$gantry" get freight 2>/dev/null | awk -v artifact="frontend:$1" '$4 == artifact { print $2 }'
}
has_freight() { [ -n "$(alias_of "$1")" ]; }

# Whether Stage $1 holds Freight $2 and its last promotion succeeded.
stage_holds() {
  "$gantry" get stages "$1" | awk -v alias="$2" 'NR > 1 && $3 == alias && $NF == "Succeeded" { found = 1 } END { exit !found }'
}

gitops_log() {
  git --git-dir "$GITOPS_REPO" log --oneline main
}

instance_tag_line() {
  git --git-dir "$GITOPS_REPO" show "main:$1/frontend/instance.yaml" | grep 'tag:'
}

# Pushes frontend:$1 and follows it to develop.
push_and_follow() {
  local version=$1 digest alias
  section "push frontend:$version"
  digest=$("$lab" push --dir "$dir" --port "$REGISTRY_PORT" frontend "$version") ||
    fail "pushing frontend:$version failed"
  step "pushed $REGISTRY_HOST/frontend:$version ($digest)"
  wait_for "the Freight of frontend:$version" has_freight "$version"
  alias=$(alias_of "$version")
  step "Freight $alias created (the registry's notification reached gantry's webhook)"
  show_gantry get freight
  wait_for "develop at $version" tag_is develop "$version"
  wait_for "develop's promotion to $alias" stage_holds develop "$alias"
  step "develop promoted automatically to $alias: the commit on the GitOps repository (main)"
  show_commits develop
}

# The GitOps repository's history and an environment's tag line, on the server's copy.
show_commits() {
  show "git log --oneline main" gitops_log
  show "git show main:$1/frontend/instance.yaml | grep tag:" instance_tag_line "$1"
}

# --- commands --------------------------------------------------------------------------------------

dir_arg=
[ "$dir" = "$ROOT/.gantry-quickstart" ] || dir_arg=" --dir $dir"

if [ "$command" = stop ]; then
  [ -d "$dir" ] || { echo "nothing of the quickstart runs in $dir"; exit 0; }
  stop
  exit 0
fi

if [ "$command" = push ]; then
  if [ ! -f "$dir/lab.env" ] || [ -z "$(running)" ]; then
    die "no quickstart runs in $dir: start one with scripts/quickstart.sh$dir_arg"
  fi
  # shellcheck source=/dev/null
  . "$dir/lab.env"
  digest=$("$lab" push --dir "$dir" --port "$REGISTRY_PORT" frontend "$tag")
  echo "pushed $REGISTRY_HOST/frontend:$tag ($digest); watch it: gantry get stages (after: source $(shown "$dir/env.sh"))"
  exit 0
fi

# start
if [ -d "$dir" ]; then
  entries=$(running)
  [ -z "$entries" ] || die "a quickstart already runs in $dir ($(echo "$entries" | tr '\n' ' ' | sed 's/ $//')): stop it first with scripts/quickstart.sh stop$dir_arg"
  if [ ! -f "$dir/$MARKER" ] && [ -n "$(ls -A "$dir")" ]; then
    die "$dir exists and was not made by the quickstart: choose another --dir"
  fi
fi

missing=()
need() {
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] || missing+=("$2")
}
need git git
need nginx nginx-light
need fcgiwrap fcgiwrap
need docker-registry docker-registry
need setsid util-linux
need cargo "cargo (rustup)"
if [ ${#missing[@]} -gt 0 ]; then
  die "missing: ${missing[*]}. scripts/test.sh installs the Debian packages the tests need (sudo apt-get install ${missing[*]})"
fi

echo "== building gantry and the quickstart lab ($profile)"
(cd "$ROOT" && cargo build "${profile_flag[@]}" --locked -p gantry -p gantry-test \
  --bin gantry --example quickstart-lab)

rm -rf "$dir"
mkdir -p "$dir/logs" "$dir/pids"
dir=$(cd "$dir" && pwd)
chmod 700 "$dir"
echo "made by scripts/quickstart.sh; removed by its next start" >"$dir/$MARKER"
[ "$dir" = "$ROOT/.gantry-quickstart" ] || dir_arg=" --dir $dir"

section "gantry quickstart in $(shown "$dir")"
start_ms=$(now_ms)
# Its own session: the servers it leaves running have no terminal to lose.
setsid "$lab" up --dir "$dir" >"$dir/lab.env" || die "the git server or the registry did not start"
# shellcheck source=/dev/null
. "$dir/lab.env"
step "git server   $GITOPS_URL (basic auth: $GIT_USER / $GIT_PASSWORD)"
step "registry     http://$REGISTRY_HOST (anonymous; pushes notify gantry's webhook)"

setsid "$gantry" serve --config "$dir/config" --data-dir "$dir/data" \
  --listen "127.0.0.1:$GANTRY_PORT" </dev/null >>"$dir/logs/gantry.log" 2>&1 &
gantry_pid=$!
echo "$gantry_pid" >"$dir/pids/gantry.pid"
export GANTRY_SERVER=http://127.0.0.1:$GANTRY_PORT GANTRY_DATA_DIR=$dir/data
cat >"$dir/env.sh" <<EOF
# source this file to use the gantry CLI against the quickstart's server
export GANTRY_SERVER=$GANTRY_SERVER
export GANTRY_DATA_DIR='$dir/data'
export PATH='$bin_dir':"\$PATH"
EOF
wait_for "gantry serve to answer" "$gantry" get stages
"$gantry" get projects quickstart -o yaml | grep -qF "path: $WEBHOOK_PATH" ||
  fail "gantry serves the registry's webhook elsewhere than where the registry sends it"
step "gantry serve $GANTRY_SERVER (config $(shown "$dir/config"), data $(shown "$dir/data"))"
show_gantry get stages

push_and_follow 1.0.0
develop_ms=$(($(now_ms) - start_ms))
push_and_follow 1.1.0

alias=$(alias_of 1.1.0)
section "promote $alias (frontend:1.1.0) to production by hand"
show_gantry promote --stage production --freight-alias "$alias"
wait_for "production at 1.1.0" tag_is production 1.1.0
wait_for "production's promotion to $alias" stage_holds production "$alias"
production_ms=$(($(now_ms) - start_ms))
step "production promoted to $alias: the commit on the GitOps repository (main)"
show_commits production

section "where things stand"
show_gantry get promotions
show_gantry history stage develop
show_gantry explain stage production

if ! tag_is develop 1.1.0 || ! tag_is production 1.1.0; then
  fail "develop and production should be at 1.1.0"
fi
printf '\ndevelop reached 1.0.0 %d.%01d s and production 1.1.0 %d.%01d s after the start (build excluded)\n' \
  $((develop_ms / 1000)) $((develop_ms % 1000 / 100)) $((production_ms / 1000)) $((production_ms % 1000 / 100))
cat <<EOF

Everything keeps running. Try:
  source $(shown "$dir/env.sh")    # the gantry CLI, pointed at this server
  scripts/quickstart.sh push 1.2.0$dir_arg && sleep 1 && gantry get stages
  git clone http://$GIT_USER:$GIT_PASSWORD@${GITOPS_URL#http://}    # the GitOps repository
  logs: $(shown "$dir/logs/gantry.log"), $(shown "$dir/registry/registry.log"), $(shown "$dir/git/access.log")
stop everything: scripts/quickstart.sh stop$dir_arg
EOF
