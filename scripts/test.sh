#!/usr/bin/env bash
# The whole test suite, on a fresh machine of the project's kind: installs what is missing,
# then checks formatting, lints, dependency direction and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests need: git; nginx-light + fcgiwrap for the smart-HTTP git server of
# gantry-test; docker-registry (distribution 2.8) for its OCI registry, apache2-utils for the
# bcrypt htpasswd of basic auth (`htpasswd -B`) and openssl for the key and certificate that sign
# and check bearer tokens.
PACKAGES=(git nginx-light fcgiwrap docker-registry apache2-utils openssl)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== dependency direction"
scripts/check-deps.sh
echo "== cargo test"
cargo test --workspace --locked
echo "== quickstart (end to end, debug build)"
scripts/quickstart-check.sh
