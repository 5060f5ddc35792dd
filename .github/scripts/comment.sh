#!/usr/bin/env bash
# The sticky pull-request comment: one markdown report over every environment's plan JSON.
# Usage: comment.sh OUTPUT_FILE ENVIRONMENT...  (reads $OUT_DIR/plan-ENVIRONMENT.json; an
# environment whose plan job failed gets a row saying so, so the comment never shows a stale
# plan). The workflow then posts OUTPUT_FILE, updating the comment that carries the
# <!-- reconciler-plan --> marker instead of adding a new one.
set -euo pipefail
output="${1:?usage: comment.sh OUTPUT_FILE ENVIRONMENT...}"
shift
[ "$#" -gt 0 ] || { echo "usage: comment.sh OUTPUT_FILE ENVIRONMENT..." >&2; exit 1; }
out="${OUT_DIR:-out}"
args=()
for environment in "$@"; do
  if [ -f "$out/plan-$environment.json" ]; then
    args+=("$out/plan-$environment.json")
  else
    args+=(--missing "$environment")
  fi
done
hint="the plan-* artifacts of ${RUN_URL:-this workflow run}"
reconciler render "${args[@]}" --output markdown --artifact-hint "$hint" > "$output"
