#!/usr/bin/env bash
# Runs boundary-relay's source under Deno. Installs Deno from the npm
# registry (npm package "deno", which ships the binary in a per-platform
# optional dependency) into a cache directory unless $DENO points at one.
# Deno resolves npm imports from the npm-installed node_modules
# (deno.json: "nodeModulesDir": "manual").
#
# Each step is a function named step_<name> listed in STEPS; to add one,
# write the function (non-zero return = failure) and append its name.
# The e2e steps run both roles from source (coderd and agent), feed the
# agent socket and read the records back from coderd; they need curl and
# openssl.
# Prints "deno smoke: N passed, M failed"; exits 1 when any step failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DENO_VERSION="${DENO_VERSION:-2}"
CACHE="${BOUNDARY_RELAY_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/boundary-relay}"
export DENO_DIR="${DENO_DIR:-$CACHE/deno-dir}"
export DENO_NO_UPDATE_CHECK=1
WORK="$(mktemp -d "${TMPDIR:-/tmp}/deno-smoke.XXXXXX")"
# PIDs of background processes a step started; stopped on exit.
BACKGROUND=()
cleanup() {
	local pid
	for pid in ${BACKGROUND[@]+"${BACKGROUND[@]}"}; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

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

# wait_for_line FILE REGEX PID: polls (up to 60 s) until FILE has a line
# matching REGEX and prints that line; fails early when PID has exited.
wait_for_line() {
	local file="$1" pattern="$2" pid="$3" deadline=$((SECONDS + 60)) line
	while ((SECONDS < deadline)); do
		if line="$(grep -Em1 -- "$pattern" "$file" 2>/dev/null)"; then
			echo "$line"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "    process $pid exited before printing /$pattern/:" >&2
			indent <"$file" >&2
			return 1
		fi
		sleep 0.1
	done
	echo "    timed out waiting for /$pattern/ in $file:" >&2
	indent <"$file" >&2
	return 1
}

# stop_with_sigterm NAME PID LOG: SIGTERM, then expects exit 0 within 30 s.
stop_with_sigterm() {
	local name="$1" pid="$2" log="$3" deadline=$((SECONDS + 30)) code=0
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		echo "    $name did not exit within 30 s of SIGTERM" >&2
		kill -KILL "$pid" 2>/dev/null || true
		return 1
	fi
	wait "$pid" || code=$?
	if [[ $code -ne 0 ]]; then
		echo "    $name exited $code after SIGTERM (expected 0):" >&2
		indent <"$log" >&2
		return 1
	fi
}

# count_matches PATTERN: how many times the extended regex PATTERN occurs in stdin.
count_matches() {
	{ grep -Eo -- "$1" || true; } | wc -l | tr -d ' '
}

# e2e_data_path http|https: the whole data path under Deno, from source:
# coderd (SQLite store) and agent (durable spool, forwarding to coderd) as
# two `deno run` processes; records go into the agent's socket from
# `send --demo` (15 records) and from the exact bytes of
# test/vectors/v2_logs.bin (3 records, written by a node:net client); they
# must all come out of coderd's query API and as boundary_request lines on
# coderd's stderr, and the console shows them after a sign-in; both roles
# exit 0 on SIGTERM. With https, coderd serves
# a certificate from a throwaway CA (Deno.serve's TLS) that the agent trusts by
# --ca-file (fetchWithCa's Deno branch).
e2e_data_path() {
	local scheme="$1" dir="$WORK/e2e-$1" token="deno-smoke-agent-token-0123456789" admin="deno-smoke-admin-token"
	local vector_session="8f7c2a4e-3b1d-4c5e-9f60-1a2b3c4d5e6f" want=18
	local coderd_pid agent_pid line coderd_url agent_url body got deadline
	local tls_flags=() ca_flags=() curl_coderd=(curl -fsS)
	mkdir -p "$dir"
	if [[ $scheme == https ]]; then
		# A CA and a server certificate it signed: Deno (rustls) refuses a
		# self-signed certificate that is its own CA as a server certificate.
		{
			openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=deno-smoke-ca \
				-keyout "$dir/ca.key" -out "$dir/ca.pem" &&
				openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$dir/key.pem" -out "$dir/server.csr" &&
				printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext" &&
				openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 1 \
					-extfile "$dir/server.ext" -out "$dir/cert.pem"
		} >"$dir/openssl.log" 2>&1 || {
			echo "    openssl could not make the test certificates:" >&2
			indent <"$dir/openssl.log" >&2
			return 1
		}
		tls_flags=(--tls-cert-file "$dir/cert.pem" --tls-key-file "$dir/key.pem")
		ca_flags=(--ca-file "$dir/ca.pem")
		curl_coderd+=(--cacert "$dir/ca.pem")
	fi
	cat >"$dir/agents.yaml" <<EOF
agents:
  - token: "$token"
    workspace_id: 0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f
    workspace_name: deno-smoke
    owner_name: smoke
EOF

	"$DENO" run -A src/main.ts coderd --http-listen 127.0.0.1:0 --db "sqlite:$dir/coderd.db" \
		--agents-file "$dir/agents.yaml" --admin-token "$admin" ${tls_flags[@]+"${tls_flags[@]}"} 2>"$dir/coderd.err" &
	coderd_pid=$!
	BACKGROUND+=("$coderd_pid")
	line="$(wait_for_line "$dir/coderd.err" "listening on $scheme://" "$coderd_pid")" || return 1
	coderd_url="$(grep -Eo "$scheme://127\\.0\\.0\\.1:[0-9]+" <<<"$line")"

	CODER_AGENT_TOKEN="$token" "$DENO" run -A src/main.ts agent --socket "$dir/agent.sock" \
		--coderd-url "$coderd_url" --spool-dir "$dir/spool" --http-listen 127.0.0.1:0 \
		${ca_flags[@]+"${ca_flags[@]}"} >"$dir/agent.out" 2>"$dir/agent.err" &
	agent_pid=$!
	BACKGROUND+=("$agent_pid")
	line="$(wait_for_line "$dir/agent.err" 'listening on socket .*output coderd' "$agent_pid")" || return 1
	agent_url="$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' <<<"$line")"
	expect_output '"ready":true' curl -fsS "$agent_url/readyz" || return 1

	expect_output '^sent 15 of 15 records' "$DENO" run -A src/main.ts send --socket "$dir/agent.sock" --demo || return 1
	SOCK="$dir/agent.sock" VECTOR=test/vectors/v2_logs.bin "$DENO" eval '
		import { connect } from "node:net";
		import { readFileSync } from "node:fs";
		const bytes = readFileSync(process.env.VECTOR);
		const socket = connect(process.env.SOCK);
		socket.on("error", (err) => { console.error("vector writer: " + err.message); process.exit(1); });
		socket.end(bytes, () => process.exit(0));
	' || {
		echo "    writing test/vectors/v2_logs.bin into the agent socket failed" >&2
		return 1
	}

	deadline=$((SECONDS + 60))
	got=0
	while ((SECONDS < deadline)); do
		body="$("${curl_coderd[@]}" -H "Authorization: Bearer $admin" "$coderd_url/api/v2/boundary/logs?limit=1000")" || body=""
		got="$(count_matches '"sequence_number":' <<<"$body")"
		((got >= want)) && break
		sleep 0.2
	done
	if [[ $got -ne $want ]]; then
		echo "    query API has $got records, expected $want; agent stderr:" >&2
		indent <"$dir/agent.err" >&2
		echo "    coderd stderr:" >&2
		indent <"$dir/coderd.err" >&2
		return 1
	fi
	body="$("${curl_coderd[@]}" -H "Authorization: Bearer $admin" "$coderd_url/api/v2/boundary/sessions/$vector_session/logs")" || return 1
	got="$(count_matches '"sequence_number":' <<<"$body")"
	if [[ $got -ne 3 ]] || ! grep -q '"http_url":"https://pastebin.com/api/api_post.php"' <<<"$body"; then
		echo "    session $vector_session (test/vectors/v2_logs.bin) has $got records, expected 3:" >&2
		indent <<<"$body" >&2
		return 1
	fi
	got="$(count_matches ' boundary_request ' <"$dir/coderd.err")"
	if [[ $got -ne $want ]] || ! grep -q "\[warn\] boundary_request decision=deny session_id=$vector_session sequence_number=1 " "$dir/coderd.err"; then
		echo "    coderd stderr has $got boundary_request lines, expected $want (with the vector's deny):" >&2
		indent <"$dir/coderd.err" >&2
		return 1
	fi
	expect_output '^coderd_boundary_records_ingested_total\{decision="deny"\} 9$' "${curl_coderd[@]}" "$coderd_url/metrics" || return 1
	expect_output '^agent_boundary_log_proxy_batches_forwarded_total [1-9]' curl -fsS "$agent_url/metrics" || return 1

	# The console under Deno: sign in with the form, then the vector's session page.
	local cookie
	cookie="$("${curl_coderd[@]}" -o /dev/null -D - --data-urlencode "token=$admin" "$coderd_url/login" | tr -d '\r' |
		sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p')"
	expect_output 'https://pastebin\.com/api/api_post\.php' "${curl_coderd[@]}" -H "Cookie: $cookie" "$coderd_url/sessions/$vector_session" || return 1

	stop_with_sigterm agent "$agent_pid" "$dir/agent.err" || return 1
	stop_with_sigterm coderd "$coderd_pid" "$dir/coderd.err" || return 1
	echo "    $want records over $scheme: deno agent socket -> spool -> deno coderd -> SQLite, query API and stderr; both exited 0 on SIGTERM"
}

step_e2e_agent_to_coderd() {
	e2e_data_path http
}

step_e2e_agent_to_coderd_tls() {
	e2e_data_path https
}

# process_log_under_deno: the agent from source under Deno with
# --process-log on (Deno.dlopen + a Worker): as root an exec shows up as
# an exec line on stdout; without root it exits 2 naming the capabilities.
step_process_log_under_deno() {
	local dir="$WORK/process-log" pid line code=0
	mkdir -p "$dir"
	if [[ $(id -u) -ne 0 ]]; then
		"$DENO" run -A src/main.ts agent --process-log on --output stdout --socket "$dir/agent.sock" \
			--http-listen 127.0.0.1:0 >/dev/null 2>"$dir/agent.err" || code=$?
		if [[ $code -ne 2 ]] || ! grep -q 'process logging needs CAP_NET_ADMIN' "$dir/agent.err"; then
			echo "    not root: expected exit 2 naming CAP_NET_ADMIN; got exit $code:" >&2
			indent <"$dir/agent.err" >&2
			return 1
		fi
		echo "    not root: exit 2 naming the missing capabilities"
		return 0
	fi
	"$DENO" run -A src/main.ts agent --process-log on --output stdout --socket "$dir/agent.sock" \
		--http-listen 127.0.0.1:0 >"$dir/agent.out" 2>"$dir/agent.err" &
	pid=$!
	BACKGROUND+=("$pid")
	wait_for_line "$dir/agent.err" 'listening on socket' "$pid" >/dev/null || return 1
	sh -c 'sleep 0.3; :' deno-smoke-exec
	line="$(wait_for_line "$dir/agent.out" '"argv":\["sh","-c","sleep 0.3; :","deno-smoke-exec"\]' "$pid")" || return 1
	grep -q '"msg":"exec"' <<<"$line" || return 1
	stop_with_sigterm agent "$pid" "$dir/agent.err" || return 1
	echo "    exec of sh recorded under Deno (Deno.dlopen, reader Worker)"
}

# process_log_to_coderd_under_deno: as root, both roles from source under
# Deno, the agent with --process-log on --output coderd: an exec goes
# through the exec spool and ReportProcessLogs and comes out of coderd's
# query API with its argv and as an exec line on coderd's stderr. Skipped
# (passing) without root, which process_log_under_deno covers.
step_process_log_to_coderd_under_deno() {
	local dir="$WORK/process-log-coderd" token="deno-smoke-agent-token-0123456789" admin="deno-smoke-admin-token"
	local coderd_pid agent_pid line coderd_url body deadline found=0
	if [[ $(id -u) -ne 0 ]]; then
		echo "    not root: skipped (the kernel source needs root)"
		return 0
	fi
	mkdir -p "$dir"
	printf 'agents:\n  - token: "%s"\n    workspace_id: 0f4c5d2e-8a7b-4c1d-9e3f-5a6b7c8d9e0f\n    workspace_name: deno-smoke\n    owner_name: smoke\n' "$token" >"$dir/agents.yaml"
	"$DENO" run -A src/main.ts coderd --http-listen 127.0.0.1:0 --db "sqlite:$dir/coderd.db" --log-format json \
		--agents-file "$dir/agents.yaml" --admin-token "$admin" 2>"$dir/coderd.err" &
	coderd_pid=$!
	BACKGROUND+=("$coderd_pid")
	line="$(wait_for_line "$dir/coderd.err" "listening on http://" "$coderd_pid")" || return 1
	coderd_url="$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' <<<"$line")"
	CODER_AGENT_TOKEN="$token" "$DENO" run -A src/main.ts agent --socket "$dir/agent.sock" --process-log on \
		--coderd-url "$coderd_url" --spool-dir "$dir/spool" --http-listen 127.0.0.1:0 >"$dir/agent.out" 2>"$dir/agent.err" &
	agent_pid=$!
	BACKGROUND+=("$agent_pid")
	wait_for_line "$dir/agent.err" 'listening on socket .*output coderd' "$agent_pid" >/dev/null || return 1
	sh -c 'sleep 0.3; :' deno-smoke-exec-to-coderd
	deadline=$((SECONDS + 60))
	while ((SECONDS < deadline)); do
		body="$(curl -fsS -H "Authorization: Bearer $admin" "$coderd_url/api/v2/process/logs?limit=1000")" || body=""
		if grep -q '"argv":\["sh","-c","sleep 0.3; :","deno-smoke-exec-to-coderd"\]' <<<"$body"; then
			found=1
			break
		fi
		sleep 0.2
	done
	if [[ $found -ne 1 ]]; then
		echo "    the exec never reached coderd's query API; agent stderr:" >&2
		indent <"$dir/agent.err" >&2
		return 1
	fi
	wait_for_line "$dir/coderd.err" '"msg":"exec".*deno-smoke-exec-to-coderd' "$coderd_pid" >/dev/null || return 1
	stop_with_sigterm agent "$agent_pid" "$dir/agent.err" || return 1
	stop_with_sigterm coderd "$coderd_pid" "$dir/coderd.err" || return 1
	echo "    exec of sh under Deno: exec spool -> ReportProcessLogs -> deno coderd -> query API and an exec line"
}

# The PostgreSQL store under Deno (the `postgres` npm package through
# Deno's node compatibility), on a throw-away cluster the script starts.
# Needs initdb/pg_ctl (.ci/run puts them on PATH).
step_postgres_store_under_deno() {
	"$DENO" run -A scripts/deno-postgres-check.ts | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}

STEPS=(
	version_reports_deno
	config_check_agent
	config_check_coderd
	config_error_exits_2
	runtime_adapter
	e2e_agent_to_coderd
	e2e_agent_to_coderd_tls
	process_log_under_deno
	process_log_to_coderd_under_deno
	postgres_store_under_deno
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
