#!/usr/bin/env bash
# Writes the Swift code generated from openapi.yaml into Sources/{SockpitContract,SockpitAPI,SockpitClient}/Generated
# with the pinned swift-openapi-generator (Tests/codegen/Package.swift).
#   generate.sh          regenerate the committed files
#   generate.sh --check  fail, naming the files, if regenerating would change any of them (run by `make test`)
# SPEC=path checks (or generates from) another document than openapi.yaml: the self-test uses it.
set -euo pipefail
cd "$(dirname "$0")/../.."
check=${1:-}
spec=${SPEC:-openapi.yaml}
swift build --package-path Tests/codegen --scratch-path .build-codegen --product swift-openapi-generator -q
generator=$(swift build --package-path Tests/codegen --scratch-path .build-codegen --show-bin-path)/swift-openapi-generator
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
status=0
for pair in types:SockpitContract server:SockpitAPI client:SockpitClient; do
  config=${pair%%:*} target=${pair##*:}
  "$generator" generate --config "Tests/codegen/$config.yaml" --output-directory "$work/$target" "$spec" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
  find "$work/$target" -type f -empty -delete   # the generator writes an empty file for each mode not asked for
  if [ "$check" = --check ]; then
    if ! diff -r -q "$work/$target" "Sources/$target/Generated"; then
      echo "Sources/$target/Generated is not what $spec generates: run 'make generate' and commit" >&2
      status=1
    fi
  else
    rm -rf "Sources/$target/Generated" && mkdir -p "Sources/$target/Generated"
    cp "$work/$target"/*.swift "Sources/$target/Generated/"
  fi
done
[ "$check" = --check ] && [ $status = 0 ] && echo "generated code matches openapi.yaml"
exit $status
