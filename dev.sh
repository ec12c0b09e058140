#!/usr/bin/env bash
# bokeh_nb's two entry points, each self-contained on a fresh Debian machine:
#   ./dev.sh lab    set everything up, then start JupyterLab on notebooks/
#   ./dev.sh test   set everything up, then run the whole test suite (browser tests included)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"
export PATH="$VENV/bin:$PATH"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export PIP_DISABLE_PIP_VERSION_CHECK=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt() {
  # Debian packages the tests need: chromium for the browser tests, nginx for the
  # deployment tests (run as a plain process; the package's service is not used), and
  # systemd for systemd-analyze (nothing is started with it).
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ -x /usr/sbin/nginx ] || missing+=(nginx)
  command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)  # checks the unit file
  if [ ${#missing[@]} -gt 0 ]; then
    echo "dev.sh: installing ${missing[*]} (apt)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

setup() {
  command -v node >/dev/null || { echo "dev.sh: node (>= 20) is required to build the frontend" >&2; exit 1; }
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  # Builds the TypeScript frontend (npm) into the package and installs it editable,
  # with the test tools; the labextension is linked so JupyterLab loads this checkout.
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  "$VENV/bin/jupyter-builder" develop --overwrite . >/dev/null
  "$VENV/bin/jupyter" server extension enable --sys-prefix bokeh_nb >/dev/null
}

bokeh_spec() { grep -o '"bokeh[<>=!~][^"]*"' pyproject.toml | head -1 | tr -d '"'; }

use_bokeh() {
  # $1 = release: the newest bokeh release pyproject.toml admits (what pip gives a user);
  # $1 = newest: the newest bokeh it admits, pre-releases included (the suite runs on it)
  if [ "$1" = newest ]; then
    "$VENV/bin/python" -m pip install -q -U --pre "$(bokeh_spec)"
  elif "$VENV/bin/python" -c 'import bokeh, sys; from packaging.version import Version; sys.exit(not Version(bokeh.__version__).is_prerelease)'; then
    "$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$(bokeh_spec)"
  fi
}

setup_test_tools() {
  # configurable-http-proxy (npm) for the JupyterHub tests, inside the venv
  [ -x "$VENV/chp/node_modules/.bin/configurable-http-proxy" ] ||
    npm install --silent --no-audit --no-fund --prefix "$VENV/chp" configurable-http-proxy@5 >/dev/null
}

case "${1:-}" in
  lab)
    setup
    use_bokeh release
    shift
    extra=()
    [ "$(id -u)" = 0 ] && extra+=(--allow-root)
    # the apps "Bokeh apps" in the launcher serves (bokeh serve, via jupyter-server-proxy)
    export BOKEH_NB_APPS_DIR="${BOKEH_NB_APPS_DIR:-$ROOT/notebooks/apps}"
    exec "$VENV/bin/jupyter" lab --notebook-dir="$ROOT/notebooks" "${extra[@]}" "$@"
    ;;
  bench)
    # the benchmarks (benchmarks/README.md), bokeh_nb on the bokeh release a user gets, as
    # the anchors' pinned environment is: a pre-release's BokehJS would move the ratios
    need_apt
    setup
    use_bokeh release
    shift
    exec "$VENV/bin/python" -m benchmarks.run "$@"
    ;;
  test)
    need_apt
    setup
    use_bokeh newest
    setup_test_tools
    # the second environment (another bokeh) for kernels and the unit / kernel tests,
    # created once under .venv-kernels/ (tests/kernel_env.py)
    "$VENV/bin/python" -m tests.kernel_env
    shift
    if [ $# -gt 0 ]; then
      set +e
      "$VENV/bin/python" -m pytest "$@"
      rc=$?
      set -e
      [ $rc -eq 5 ] && { echo "dev.sh: pytest collected no tests" >&2; exit 1; }
      exit $rc
    fi
    # The whole suite in two phases of two lanes each (the lanes of a phase share no
    # server, port or temporary directory). First everything but the unit, kernel and load
    # tests and the benchmarks' quick mode: the browser tests in one lane, beside them the
    # reliability, deployment, security and codebase tests, the notebooks (nbval) and the
    # shipped notebooks run in JupyterLab. Then the 5-minute load test, which mostly waits
    # on its visitors' timers, followed by the quick mode (it asserts no timing), and beside
    # them tests/unit and tests/kernel, on this bokeh and again on the other supported one.
    load=tests/reliability/test_load.py
    bench=tests/browser/test_benchmarks.py
    in_lab=tests/browser/test_notebooks.py
    other=$("$VENV/bin/python" -m tests.kernel_env --python)
    # Every lane runs in the background and dev.sh waits for it, so that an interrupt
    # (Ctrl-C) reaches dev.sh at once (a trapped signal ends a `wait`) and stops every lane
    # of the phase: a non-interactive shell's background job ignores SIGINT, and timeout
    # runs in a process group of its own. A lane goes first (it starts nothing more), then
    # what it had started; a Jupyter server the tests started stops its kernels itself.
    lanes=()
    children_of() {  # the pids whose parent is $1, from /proc (no procps needed)
      local stat fields
      for stat in /proc/[0-9]*/stat; do
        read -r fields <"$stat" 2>/dev/null || continue
        fields=${fields##*) }  # after the command's name: state, parent, ...
        fields=${fields#* }
        if [ "${fields%% *}" = "$1" ]; then stat=${stat#/proc/}; echo "${stat%/stat}"; fi
      done
    }
    stop_lanes() {
      local lane started
      for lane in "${lanes[@]}"; do
        started=$(children_of "$lane")
        kill -TERM "$lane" 2>/dev/null || true
        [ -z "$started" ] || kill -TERM $started 2>/dev/null || true
      done
      for lane in "${lanes[@]}"; do wait "$lane" 2>/dev/null || true; done
      echo "dev.sh: interrupted; the lanes were stopped" >&2
    }
    trap 'stop_lanes; exit 130' INT
    trap 'stop_lanes; exit 143' TERM
    set +e
    second="$ROOT/.venv-kernels/second-lane.log"
    echo "dev.sh: the browser tests, and beside them the other tests and the notebooks (their output below when done)"
    browser_lane=()  # every browser test file but the shipped notebooks' runs
    for f in tests/browser/test_*.py; do [ "$f" = "$in_lab" ] || browser_lane+=(--ignore="$f"); done
    "$VENV/bin/python" -m pytest tests notebooks "${browser_lane[@]}" --ignore=tests/unit \
      --ignore=tests/kernel --ignore="$load" -p no:cacheprovider \
      --basetemp="$(mktemp -d)/pytest" >"$second" 2>&1 &
    lanes=($!)
    "$VENV/bin/python" -m pytest tests/browser --ignore="$bench" --ignore="$in_lab" &
    lanes+=($!)
    wait "${lanes[1]}"
    rc_browser=$?
    wait "${lanes[0]}"
    rc_beside=$?
    cat "$second"
    beside="$ROOT/.venv-kernels/unit-kernel.log"
    bokeh_of() { "$1" -c 'import bokeh; print("bokeh", bokeh.__version__)'; }
    echo "dev.sh: $load and $bench, and beside them tests/unit and tests/kernel on $(bokeh_of "$VENV/bin/python") and on $(bokeh_of "$other") (their output below when done)"
    : >"$beside.rc"
    (
      for python in "$VENV/bin/python" "$other"; do
        timeout 900 "$python" -m pytest tests/unit tests/kernel -p no:cacheprovider \
          --basetemp="$(mktemp -d)/pytest"
        echo "$?" >>"$beside.rc"
      done
    ) >"$beside" 2>&1 &
    lanes=($!)
    "$VENV/bin/python" -m pytest "$load" "$bench" &
    lanes+=($!)
    wait "${lanes[1]}"
    rc_load=$?
    wait "${lanes[0]}"
    set -e
    cat "$beside"
    { read -r rc_unit; read -r rc_other; } <"$beside.rc"
    rc=0
    for part in "browser:$rc_browser" "beside the browser:$rc_beside" "load and benchmarks:$rc_load" "unit and kernel:$rc_unit" "other bokeh:$rc_other"; do
      code=${part##*:}
      if [ "$code" -eq 5 ]; then
        echo "dev.sh: pytest collected no tests (${part%:*})" >&2
        code=1
      fi
      if [ "$code" -ne 0 ]; then
        echo "dev.sh: the ${part%:*} run failed (exit $code)" >&2
        if [ $rc -eq 0 ]; then rc=$code; fi
      fi
    done
    exit $rc
    ;;
  *)
    echo "usage: ./dev.sh lab | ./dev.sh test [pytest args] | ./dev.sh bench [benchmarks.run args]" >&2
    exit 2
    ;;
esac
