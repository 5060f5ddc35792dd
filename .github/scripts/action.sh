#!/usr/bin/env bash
# The steps of the composite action (action.yml): action.sh install|run|comment.
# Every input arrives in an ACTION_* environment variable, never in the script's text.
#   install  a venv in $RUNNER_TEMP with the action's own checkout ($GITHUB_ACTION_PATH) or
#            foundry-routines-reconciler==$ACTION_VERSION; step output bin=<the venv's bin>
#   run      reconciler $ACTION_COMMAND [--env $ACTION_ENVIRONMENT] --output github $ACTION_ARGS,
#            writing the plan/drift/status/audit JSON under $RUNNER_TEMP/reconciler-action;
#            outputs exit-code, has-changes and plan-json (plan), drift (drift), unhealthy
#            (status). Exit 0 on 0 and 2.
#   comment  on a pull request, the sticky comment <!-- reconciler-COMMAND:ENV --> with the
#            rendered plan or the drift report (python -m reconciler.ci comment)
set -euo pipefail

escape() {  # a value inside a workflow command (::error::...) cannot start another one
  local text="${1//%/%25}"
  text="${text//$'\r'/%0D}"
  printf '%s' "${text//$'\n'/%0A}"
}

fail() {
  echo "::error title=reconciler action::$(escape "$1")"
  exit 1
}

root() {
  printf '%s/reconciler-action' "${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
}

set_name() {  # name=the environment, or "default"; part of file names, so checked
  name="${ACTION_ENVIRONMENT:-default}"
  [[ "$name" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || fail "environment '$name' is not a valid name"
}

install() {
  local python="${ACTION_PYTHON:?ACTION_PYTHON (the Python to use) is not set}"
  local requirement venv bin
  if [ -z "${ACTION_VERSION:-}" ]; then
    requirement="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"
  elif [[ "$ACTION_VERSION" =~ ^[0-9][0-9A-Za-z.+!-]*$ ]]; then
    requirement="foundry-routines-reconciler==$ACTION_VERSION"
  else
    fail "version '$ACTION_VERSION' is not a version number (for example 1.2.0), nor ''"
  fi
  venv="$(root)/venv"
  "$python" -m venv "$venv"
  bin="$venv/bin"
  [ -d "$bin" ] || bin="$venv/Scripts"  # Windows
  "$bin/python" -m pip install --disable-pip-version-check --quiet "$requirement"
  "$bin/reconciler" --version
  echo "bin=$bin" >> "${GITHUB_OUTPUT:-/dev/null}"
}

run() {
  local bin="${ACTION_BIN:?ACTION_BIN is not set (did the install step run?)}"
  local command="${ACTION_COMMAND:-plan}" name out status=0
  set_name
  out="$(root)/$command"
  local select=() extra=() cmd=() outputs=()
  [ -z "${ACTION_ENVIRONMENT:-}" ] || select=(--env "$ACTION_ENVIRONMENT")
  mkdir -p "$out"
  if [ -n "${ACTION_ARGS:-}" ]; then
    "$bin/python" -m reconciler.ci split-args --from-env ACTION_ARGS > "$out/args"
    mapfile -d '' -t extra < "$out/args"
  fi
  case "$command" in
    validate) cmd=(validate "${select[@]}" --output github) ;;
    plan) cmd=(plan "${select[@]}" --output github --json-out "$out/$name.json") ;;
    apply) cmd=(apply "${select[@]}" --auto-approve --output github --audit-out "$out/$name.json") ;;
    drift | status)
      cmd=("$command" "${select[@]}" --output github --json-out "$out/$name.json"
        --markdown-out "$out/$name.md") ;;
    *) fail "command '$command' is not one of validate, plan, apply, drift, status" ;;
  esac
  rm -f "$out/$name.json" "$out/$name.md"
  "$bin/reconciler" "${cmd[@]}" "${extra[@]}" || status=$?
  outputs=("exit-code=$status")
  if [ "$command" = plan ] && [ -f "$out/$name.json" ]; then
    outputs+=(--plan "$out/$name.json")
  elif [ "$command" = drift ] && [ -f "$out/$name.json" ] && [ "$status" -ne 1 ]; then
    outputs+=(--drift "$out/$name.json")
  elif [ "$command" = status ] && [ -f "$out/$name.json" ] && [ "$status" -ne 1 ]; then
    outputs+=(--status "$out/$name.json")
  fi
  "$bin/python" -m reconciler.ci outputs "${outputs[@]}"
  case "$status" in
    0 | 2) exit 0 ;;
    *) exit "$status" ;;
  esac
}

comment() {
  local bin="${ACTION_BIN:?ACTION_BIN is not set (did the install step run?)}"
  local command="${ACTION_COMMAND:-plan}" name out body run_url
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request | pull_request_target) ;;
    *)
      echo "::notice title=reconciler action::comment: true posts on pull requests only; this is a ${GITHUB_EVENT_NAME:-local} run"
      return 0 ;;
  esac
  set_name
  out="$(root)/$command"
  body="$(root)/comment-$command-$name.md"
  run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/${GITHUB_RUN_ID:-}"
  case "$command" in
    plan)
      local plan=(--missing "$name")
      [ ! -f "$out/$name.json" ] || plan=("$out/$name.json")
      "$bin/reconciler" render "${plan[@]}" --output markdown \
        --artifact-hint "the log of $run_url" > "$body" ;;
    drift)
      if [ -f "$out/$name.md" ]; then
        cp "$out/$name.md" "$body"
      else
        printf '## Reconciler drift report\n\n**%s: the drift check failed**, see %s\n' \
          "$name" "$run_url" > "$body"
      fi ;;
    *)
      echo "::warning title=reconciler action::comment: true works with the plan and drift commands; nothing posted"
      return 0 ;;
  esac
  "$bin/python" -m reconciler.ci comment --marker "reconciler-$command:$name" --body-file "$body"
}

case "${1:-}" in
  install | run | comment) "$1" ;;
  *) echo "usage: action.sh install|run|comment" >&2; exit 1 ;;
esac
