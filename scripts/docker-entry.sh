#!/bin/sh
# The image's entry point: the same commands `npm start`, `npm run worker` and
# `npm run sandbox` run, without npm in between (signals reach node directly).
set -e
cd "${QBO_SYNC_HOME:-/app}"
case "${1:-api}" in
  api) shift 2>/dev/null || true; exec node --import tsx apps/api/src/main.ts "$@" ;;
  worker) shift; exec node --import tsx apps/api/src/worker.ts "$@" ;;
  sandbox) shift; exec node packages/qbo-sandbox/bin/qbo-sandbox.js "$@" ;;
  cli) shift; exec node apps/api/bin/qbo-sync.js "$@" ;;
  migrate) shift; exec node apps/api/bin/qbo-sync.js migrate "$@" ;;
  *) exec "$@" ;;
esac
