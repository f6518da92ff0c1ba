#!/usr/bin/env bash
# Installs ksearch's build and test dependencies from Debian 12 packages (run as root or with sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
# man-db and groff-base render the generated man page in a test; zsh and fish check the generated completions.
# Node runs the official client libraries in the tests, and drives chromium through the search page (tests/browser).
# A machine that already has node with npm (a NodeSource build bundles npm, and conflicts with Debian's npm package)
# keeps it.
node_packages=()
command -v node >/dev/null && command -v npm >/dev/null || node_packages=(nodejs npm)
$sudo_cmd apt-get update -q
$sudo_cmd apt-get install -y -q --no-install-recommends \
  build-essential cmake ninja-build pkg-config ca-certificates \
  libfaiss-dev libeigen3-dev libsentencepiece-dev libutf8proc-dev libonig-dev libsqlite3-dev libcli11-dev nlohmann-json3-dev \
  libdnnl-dev libssl-dev zlib1g-dev libgumbo-dev libpoppler-cpp-dev libedit-dev libcpp-httplib-dev libzip-dev libpugixml-dev libcurl4-openssl-dev \
  libgtest-dev qemu-user clang-format chromium man-db groff-base zsh fish "${node_packages[@]}"
