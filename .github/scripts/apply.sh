#!/usr/bin/env bash
# Deploy one environment (called by .github/workflows/apply.yml; tests run it too): re-plan and
# apply with prune on, deletes last, a JSON audit record in $OUT_DIR. Exit 0 when every change
# succeeded, 1 on any failure (the job fails, and the audit record says which change).
set -euo pipefail
environment="${1:?usage: apply.sh ENVIRONMENT}"
out="${OUT_DIR:-out}"
mkdir -p "$out"

reconciler validate --env "$environment" --output github
reconciler apply --env "$environment" --prune --auto-approve --output github \
  --audit-out "$out/audit-$environment.json"
