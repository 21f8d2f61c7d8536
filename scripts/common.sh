# Shared settings of the project's scripts (sourced, not run).
# Everything can be overridden from the environment.

SWIGLU_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SWIGLU_BUILD_DIR="${SWIGLU_BUILD_DIR:-$SWIGLU_ROOT/build}"
SWIGLU_CACHE_DIR="${SWIGLU_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/swiglu}"
LLVM_PREFIX="${LLVM_PREFIX:-/usr/lib/llvm-22}"

# The virtual environment lives outside the clone, keyed by the pinned
# requirements and the Python version, so a fresh clone (CI) reuses it.
swiglu_venv_dir() {
  local key
  key="$( { cat "$SWIGLU_ROOT/python/requirements.txt"; python3 --version; } | sha256sum | cut -c1-12)"
  echo "${SWIGLU_VENV:-$SWIGLU_CACHE_DIR/venv-$key}"
}

log() { printf '\033[1m[swiglu]\033[0m %s\n' "$*"; }

# Installs Debian packages, no prompts (through sudo when not root). Runs
# `apt-get update` only when the first attempt fails (a fresh machine).
apt_install() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y -q --no-install-recommends "$@" ||
    { $sudo apt-get update -q &&
      $sudo apt-get install -y -q --no-install-recommends "$@"; }
}

# Installs those of the given Debian packages that are missing (nothing, and
# no apt-get call, when all are there).
apt_ensure() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}
