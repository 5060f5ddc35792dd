#!/usr/bin/env bash
# Pull-request plan for one environment (called by .github/workflows/plan.yml; tests run it too).
#   validate: ::error annotations on the pull request's files
#   plan:     text in the log, markdown in the job summary, JSON in $OUT_DIR for the artifact
# Never writes to the project. Exit 0 when a plan was made (with or without changes), 1 on
# invalid manifests or any error.
set -euo pipefail
environment="${1:?usage: plan.sh ENVIRONMENT}"
out="${OUT_DIR:-out}"
mkdir -p "$out"

reconciler validate --env "$environment" --output github
reconciler plan --env "$environment" --output github --json-out "$out/plan-$environment.json"
