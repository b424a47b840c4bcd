#!/usr/bin/env bash
# Shows the delivery proofs (test/e2e) can fail: applies one one-line
# mutation of the product at a time (forwarding, spool acknowledgement,
# coderd de-duplication), rebuilds the binary, runs `npm run test:e2e`, and
# reverts. Every mutant must make at least one test fail ("killed").
#   scripts/e2e-mutants.sh            all mutants
#   scripts/e2e-mutants.sh dedup      one by name
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# name|file|sed expression (must change exactly the one line)
MUTANTS=(
	"forwarding|src/agent/forwarder/forwarder.ts|s/await this.opts.send(toRequest(batch), this.abort.signal);/await this.opts.send(toRequest(batch), this.abort.signal).catch(() => {});/"
	"spool-ack|src/agent/spool/spool.ts|s/if (!segment.sealed || !segment.readDone || segment.acked !== segment.handedOut || segment.deleting) return;/if (!segment.sealed || !segment.readDone || segment.deleting) return;/"
	"dedup|src/coderd/ingest.ts|s/const deduplicate = isUuid(req.sessionId);/const deduplicate = false;/"
)

survived=0
for m in "${MUTANTS[@]}"; do
	IFS='|' read -r name file expr <<<"$m"
	[[ $# -gt 0 && "$1" != "$name" ]] && continue
	if ! git diff --quiet -- "$file"; then echo "$file has local changes; refusing to mutate it" >&2; exit 2; fi
	sed -i "$expr" "$file"
	trap 'git checkout -- "$file"' EXIT
	if [[ "$(git diff --numstat -- "$file" | cut -f1)" != "1" ]]; then echo "mutant $name did not apply to $file" >&2; git checkout -- "$file"; exit 2; fi
	echo "==== mutant $name: $(git diff -U0 -- "$file" | grep '^+[^+]' | sed 's/^+ *//')"
	log="$(mktemp)"
	rm -rf dist
	env -u BOUNDARY_RELAY_BIN npx bun test test/e2e >"$log" 2>&1 || true
	git checkout -- "$file"
	trap - EXIT
	if grep -Eq '^ *[1-9][0-9]* fail$' "$log"; then
		echo "killed: $(grep -E '^\(fail\)' "$log" | sed 's/ \[[0-9.]*ms\]$//' | tr '\n' ' ')"
		grep -E -m1 -A12 '^error: ' "$log" | sed 's/^/    /'
	else
		echo "SURVIVED"; survived=$((survived + 1))
	fi
	rm -f "$log"
done
rm -rf dist
echo "$survived mutant(s) survived"
[[ $survived -eq 0 ]]
