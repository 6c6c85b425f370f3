#!/usr/bin/env bash
# Rasa Open Source 3.6 beside supportbot, in its own Python 3.10 virtualenv (.venv-rasa).
# supportbot never imports rasa: it talks to `rasa run --enable-api` over HTTP (NLU_BACKEND=rasa).
#
#   rasa/rasa.sh python     print the Python 3.10 interpreter that builds the venv
#   rasa/rasa.sh venv       build .venv-rasa (rasa==3.6.21 with rasa/constraints.txt), unless it is current
#   rasa/rasa.sh validate   `rasa data validate` on nlu/ (data, domain, config)
#   rasa/rasa.sh train      train nlu/ with nlu/config.yml into var/rasa-models/ (reused while nlu/ is unchanged)
#   rasa/rasa.sh model      print the path of the trained model for the current nlu/
#   rasa/rasa.sh serve      exec `rasa run --enable-api -i $RASA_HOST -p $RASA_PORT -m var/rasa-models`
#
# Environment:
#   RASA_PYTHON   a Python 3.10 interpreter (default: pyenv's 3.10, then python3.10 on PATH)
#   RASA_VENV     the venv path (default .venv-rasa)
#   RASA_CACHE    a folder kept between runs (CI: /var/cache/supportbot). The venv is built there as
#                 venv-rasa-<hash of rasa/constraints.txt> and RASA_VENV becomes a symlink to it; trained
#                 models are kept there as models/nlu-<hash of nlu/*.yml and the constraints>.tar.gz.
#                 Unset: no cache, the venv is built in place.
#   RASA_MODELS   where trained models go (default var/rasa-models)
#   RASA_HOST, RASA_PORT   what `serve` listens on (default 127.0.0.1 and 5005)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

RASA_VERSION=3.6.21
CONSTRAINTS=rasa/constraints.txt
VENV="${RASA_VENV:-.venv-rasa}"
MODELS="${RASA_MODELS:-var/rasa-models}"
CACHE="${RASA_CACHE:-}"
export RASA_TELEMETRY_ENABLED=false   # no prompt, no network calls from training or serving
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export SQLALCHEMY_SILENCE_UBER_WARNING=1
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
# Rasa's training cache (default .rasa/ in the working folder) goes with the models, out of git's way.
export RASA_CACHE_DIRECTORY="${RASA_CACHE_DIRECTORY:-$ROOT/var/rasa-cache}"

say() { echo "rasa.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }
now() { date +%s; }

hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }
venv_key() { sha256sum "$CONSTRAINTS" | cut -c1-16; }
# The trained model depends on every YAML file under nlu/ (data, domain, config) and on the Rasa build.
model_key() {
  local files
  files=$(find nlu -type f \( -name '*.yml' -o -name '*.yaml' \) | LC_ALL=C sort)
  # shellcheck disable=SC2086
  hash_of $files "$CONSTRAINTS"
}

find_python() {
  local candidate
  for candidate in "${RASA_PYTHON:-}" /root/.pyenv/versions/3.10.13/bin/python3.10 \
    "$(pyenv prefix 3.10 2>/dev/null || true)/bin/python3.10" python3.10; do
    [ -n "$candidate" ] || continue
    # A pyenv shim exists on PATH even when it cannot run 3.10, so ask the interpreter itself.
    if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      "$candidate" -c 'import sys; print(sys.executable)'
      return 0
    fi
  done
  die "Rasa $RASA_VERSION needs Python 3.10: install it (pyenv install 3.10, or your system's python3.10 \
package with venv) or set RASA_PYTHON=/path/to/python3.10"
}

venv_is_current() {  # $1: venv folder
  [ -f "$1/.supportbot-complete" ] && [ "$(cat "$1/.supportbot-complete")" = "$(venv_key)" ] &&
    "$1/bin/python" -c 'import rasa' 2>/dev/null
}

build_venv() {  # $1: folder to build in
  local target="$1" python started
  python="$(find_python)"
  started=$(now)
  say "building $target with $python (rasa==$RASA_VERSION, $CONSTRAINTS)"
  rm -rf "$target"
  mkdir -p "$(dirname "$target")"
  "$python" -m venv "$target"
  # pip 24.1+ refuses the legacy version strings of some of Rasa 3.6's dependencies.
  "$target/bin/python" -m pip install --quiet --upgrade "pip==24.0" "setuptools<70" wheel
  "$target/bin/python" -m pip install --quiet --prefer-binary -c "$CONSTRAINTS" "rasa==$RASA_VERSION"
  "$target/bin/rasa" --version >/dev/null
  venv_key >"$target/.supportbot-complete"
  say "built $target in $(($(now) - started))s"
}

cmd_venv() {
  if [ -n "$CACHE" ]; then
    local cached entry
    cached="$CACHE/venv-rasa-$(venv_key)"
    venv_is_current "$cached" || build_venv "$cached"
    if ! venv_is_current "$VENV" || [ "$(readlink "$VENV/bin")" != "$cached/bin" ]; then
      # A folder of links to the cached venv's entries (bin, lib, pyvenv.cfg...): it behaves as
      # the venv itself, and stays a folder, as .gitignore expects of .venv-rasa/.
      rm -rf "$VENV"
      mkdir -p "$VENV"
      for entry in "$cached"/* "$cached"/.supportbot-complete; do
        ln -s "$entry" "$VENV/$(basename "$entry")"
      done
    fi
    say "$VENV -> $cached"
  else
    if [ -L "$VENV" ] || [ -L "$VENV/bin" ]; then  # links to a cache that is not used now
      venv_is_current "$VENV" || rm -rf "$VENV"
    fi
    venv_is_current "$VENV" || build_venv "$VENV"
  fi
}

rasa_bin() {
  [ -x "$VENV/bin/rasa" ] || die "$VENV/bin/rasa not found: run 'make rasa-venv' (or rasa/rasa.sh venv) first"
  echo "$VENV/bin/rasa"
}

cmd_validate() {
  local started
  started=$(now)
  "$(rasa_bin)" data validate --data nlu/data --domain nlu/domain.yml --config nlu/config.yml
  say "validated nlu/ in $(($(now) - started))s"
}

cmd_model() {
  echo "$MODELS/nlu-$(model_key).tar.gz"
}

cmd_train() {
  local key model started
  key="$(model_key)"
  model="$MODELS/nlu-$key.tar.gz"
  mkdir -p "$MODELS"
  if [ ! -f "$model" ] && [ -n "$CACHE" ] && [ -f "$CACHE/models/nlu-$key.tar.gz" ]; then
    cp "$CACHE/models/nlu-$key.tar.gz" "$model.tmp" && mv "$model.tmp" "$model"
    say "reused the cached model for this nlu/ ($key)"
  fi
  if [ ! -f "$model" ]; then
    started=$(now)
    "$(rasa_bin)" train nlu --nlu nlu/data --config nlu/config.yml --domain nlu/domain.yml \
      --out "$MODELS" --fixed-model-name "nlu-$key"
    [ -f "$model" ] || die "rasa train did not write $model"
    say "trained $model in $(($(now) - started))s"
    if [ -n "$CACHE" ]; then
      mkdir -p "$CACHE/models"
      cp "$model" "$CACHE/models/nlu-$key.tar.gz.tmp" && mv "$CACHE/models/nlu-$key.tar.gz.tmp" "$CACHE/models/nlu-$key.tar.gz"
    fi
  fi
  # `rasa run -m FOLDER` serves the newest model of the folder: keep only the current one.
  find "$MODELS" -maxdepth 1 -name 'nlu-*.tar.gz' ! -name "nlu-$key.tar.gz" -delete
  touch "$model"
  echo "$model"
}

cmd_serve() {
  local host="${RASA_HOST:-127.0.0.1}" port="${RASA_PORT:-5005}"
  ls "$MODELS"/nlu-*.tar.gz >/dev/null 2>&1 || die "no model in $MODELS: run 'rasa/rasa.sh train' first"
  say "serving $MODELS on http://$host:$port (NLU_BACKEND=rasa RASA_URL=http://$host:$port)"
  exec "$(rasa_bin)" run --enable-api -i "$host" -p "$port" -m "$MODELS" "$@"
}

case "${1:-}" in
  python) find_python ;;
  venv) cmd_venv ;;
  validate) cmd_validate ;;
  train) cmd_train ;;
  model) cmd_model ;;
  serve) shift; cmd_serve "$@" ;;
  *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
