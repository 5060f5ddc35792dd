#!/usr/bin/env bash
# Drift detection for one environment (called by .github/workflows/drift.yml; tests run it too).
# Writes drift-ENV.json and drift-ENV.md to $OUT_DIR and "drift=true|false" to $GITHUB_OUTPUT.
# Exit 0 in sync or drifted (the workflow then opens, updates or closes the tracking issue),
# 1 on error.
set -euo pipefail
environment="${1:?usage: drift.sh ENVIRONMENT}"
out="${OUT_DIR:-out}"
mkdir -p "$out"

status=0
reconciler drift --env "$environment" --output github \
  --json-out "$out/drift-$environment.json" --markdown-out "$out/drift-$environment.md" \
  || status=$?
case "$status" in
  0) drifted=false ;;
  2) drifted=true ;;
  *) exit "$status" ;;
esac
echo "drift=$drifted" >> "${GITHUB_OUTPUT:-/dev/null}"
