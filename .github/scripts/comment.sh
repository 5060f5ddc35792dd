#!/usr/bin/env bash
# The sticky pull-request comment: one markdown report from every environment's plan JSON.
# Usage: comment.sh OUTPUT_FILE PLAN_JSON...   (the workflow posts OUTPUT_FILE, updating the
# comment that carries the <!-- reconciler-plan --> marker instead of adding a new one).
set -euo pipefail
output="${1:?usage: comment.sh OUTPUT_FILE PLAN_JSON...}"
shift
if [ "$#" -eq 0 ]; then
  echo "comment.sh: no plan files (did every plan job fail?)" >&2
  exit 1
fi
hint="the plan-* artifacts of ${RUN_URL:-this workflow run}"
reconciler render "$@" --output markdown --artifact-hint "$hint" > "$output"
