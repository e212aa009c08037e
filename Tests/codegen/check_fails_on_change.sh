#!/usr/bin/env bash
# The regeneration check must fail when the contract changes without the committed code: change one
# description in a copy of openapi.yaml and expect `generate.sh --check` against it to fail.
set -euo pipefail
cd "$(dirname "$0")/../.."
changed=$(mktemp --suffix=.yaml); trap 'rm -f "$changed"' EXIT
sed '0,/summary: Liveness and database status/s//summary: Liveness and database status (changed)/' openapi.yaml > "$changed"
cmp -s openapi.yaml "$changed" && { echo "the self-test's change did not apply" >&2; exit 1; }
if SPEC="$changed" bash Tests/codegen/generate.sh --check 2>/dev/null; then
  echo "FAIL: the regeneration check passed for a changed openapi.yaml" >&2; exit 1
fi
echo "the regeneration check fails for a changed openapi.yaml, as it must"
