#!/usr/bin/env bash
# Deploy one environment (called by .github/workflows/apply.yml; tests run it too): re-plan and
# apply with the environment's prune policy from reconciler.yaml (on for dev and prod, exactly as
# the pull-request plan showed it), deletes last, a JSON audit record in $OUT_DIR.
# With APPROVED_PLAN set (a plan JSON from plan.sh that reviewers approved), nothing is applied
# unless the new plan makes exactly the approved changes.
# Exit 0 when every change succeeded; 1 on any failed change, and when the mass-delete guard held
# deletes back (git and the project still differ).
set -euo pipefail
environment="${1:?usage: apply.sh ENVIRONMENT}"
out="${OUT_DIR:-out}"
mkdir -p "$out"

reconciler validate --env "$environment" --output github
approval=()
if [ -n "${APPROVED_PLAN:-}" ]; then
  approval=(--approved-plan "$APPROVED_PLAN")
fi
reconciler apply --env "$environment" --auto-approve --output github \
  --audit-out "$out/audit-$environment.json" "${approval[@]}"
