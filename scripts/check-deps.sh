#!/usr/bin/env bash
# Pure crates (layers 0-2) must not depend on I/O machinery: an async runtime, HTTP, SQLite
# or process spawning. `cargo tree -i` prints nothing when a dependency is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
PURE=(gantry-api gantry-expr gantry-core gantry-engine gantry-graph)
FORBIDDEN=(tokio reqwest hyper rusqlite axum)
status=0
for crate in "${PURE[@]}"; do
  for dep in "${FORBIDDEN[@]}"; do
    if out=$(cargo tree --locked -e normal -p "$crate" -i "$dep" 2>/dev/null) && [ -n "$out" ]; then
      echo "error: pure crate $crate depends on $dep:"
      echo "$out"
      status=1
    fi
  done
done
# ... nor spawn processes or open sockets themselves.
if grep -rnE 'std::process|Command::new|TcpStream|UdpSocket' crates/gantry-api/src crates/gantry-expr/src crates/gantry-core/src crates/gantry-engine/src crates/gantry-graph/src; then
  echo "error: a pure crate spawns processes or opens sockets"
  status=1
fi
# TLS is rustls with ring everywhere: no OpenSSL, no aws-lc (slow to build, needs cmake/C).
for dep in openssl-sys aws-lc-sys; do
  if out=$(cargo tree --locked --workspace -i "$dep" 2>/dev/null) && [ -n "$out" ]; then
    echo "error: the workspace depends on $dep:"
    echo "$out"
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "ok: ${PURE[*]} are free of ${FORBIDDEN[*]}"
exit "$status"
