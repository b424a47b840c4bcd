#!/usr/bin/env bash
# Runs boundary-relay's source under Deno. Installs Deno from the npm
# registry (npm package "deno", which ships the binary in a per-platform
# optional dependency) into a cache directory unless $DENO points at one.
# Deno resolves npm imports from the npm-installed node_modules
# (deno.json: "nodeModulesDir": "manual").
#
# Each step is a function named step_<name> listed in STEPS; to add one,
# write the function (non-zero return = failure) and append its name.
# Prints "deno smoke: N passed, M failed"; exits 1 when any step failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DENO_VERSION="${DENO_VERSION:-2}"
CACHE="${BOUNDARY_RELAY_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/boundary-relay}"
export DENO_DIR="${DENO_DIR:-$CACHE/deno-dir}"
export DENO_NO_UPDATE_CHECK=1
WORK="$(mktemp -d "${TMPDIR:-/tmp}/deno-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# find_deno DIR: the Deno binary inside an npm install prefix.
find_deno() {
	local candidate
	for candidate in "$1/node_modules/deno/deno" "$1"/node_modules/@deno/*/deno; do
		if [[ -x "$candidate" ]] && "$candidate" --version >/dev/null 2>&1; then
			echo "$candidate"
			return 0
		fi
	done
	return 1
}

install_deno() {
	local prefix="$CACHE/deno-npm-$DENO_VERSION"
	if ! DENO="$(find_deno "$prefix")"; then
		echo "installing deno@$DENO_VERSION from npm into $prefix" >&2
		mkdir -p "$prefix"
		npm install --no-save --no-audit --no-fund --no-package-lock --prefix "$prefix" "deno@$DENO_VERSION" >&2
		DENO="$(find_deno "$prefix")" || {
			echo "deno-smoke: npm installed deno@$DENO_VERSION but no runnable binary was found under $prefix/node_modules" >&2
			exit 1
		}
	fi
}

indent() {
	sed 's/^/    | /'
}

# expect_output PATTERN CMD...: runs CMD; fails unless it exits 0 and
# its stdout matches the extended regex PATTERN.
expect_output() {
	local pattern="$1" out
	shift
	if ! out="$("$@" 2>"$WORK/stderr")"; then
		echo "    command failed: $*" >&2
		indent <"$WORK/stderr" >&2
		return 1
	fi
	if ! grep -Eq -- "$pattern" <<<"$out"; then
		echo "    output of '$*' does not match /$pattern/:" >&2
		indent <<<"$out" >&2
		return 1
	fi
}

step_version_reports_deno() {
	expect_output '^boundary-relay [0-9.]+ \(commit [^,]+, deno [0-9.]+, ' "$DENO" run -A src/main.ts version
}

step_config_check_agent() {
	expect_output 'configuration is valid' "$DENO" run -A src/main.ts config check --role agent
}

step_config_check_coderd() {
	expect_output 'configuration is valid' "$DENO" run -A src/main.ts config check --role coderd
}

step_config_error_exits_2() {
	local code=0
	"$DENO" run -A src/main.ts config check --role agent --socket-mode 999 >/dev/null 2>"$WORK/stderr" || code=$?
	if [[ $code -ne 2 ]] || ! grep -q 'socket_mode (from --socket-mode)' "$WORK/stderr"; then
		echo "    expected exit 2 naming socket_mode; got exit $code:" >&2
		indent <"$WORK/stderr" >&2
		return 1
	fi
}

step_runtime_adapter() {
	"$DENO" run -A scripts/deno-adapter-check.ts --expect deno | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}

STEPS=(
	version_reports_deno
	config_check_agent
	config_check_coderd
	config_error_exits_2
	runtime_adapter
)

if [[ -n "${DENO:-}" ]]; then
	"$DENO" --version >/dev/null || {
		echo "deno-smoke: DENO=$DENO does not run" >&2
		exit 1
	}
else
	install_deno
fi
echo "using $("$DENO" --version | head -1) ($DENO)"

passed=0
failed=0
for step in "${STEPS[@]}"; do
	if "step_$step"; then
		echo "ok   $step"
		passed=$((passed + 1))
	else
		echo "FAIL $step"
		failed=$((failed + 1))
	fi
done
echo "deno smoke: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
