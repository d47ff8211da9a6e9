#!/bin/sh
# Entrypoint of the runner-planner image. The first argument names the app to run, like the
# `runner-planner gateway|worker|planner` commands:
#
#   docker run runner-planner gateway     # webhook receiver, GATEWAY_PORT (8080)
#   docker run runner-planner worker      # queue consumer, migrates the database at start; WORKER_PORT (8082)
#   docker run runner-planner planner     # planner API, PLANNER_PORT (8081)
#
# Any app under apps/ with a dist/main.js can be named. Anything else is run as a command
# (`docker run runner-planner node -e '…'`, `… sh`). `exec` makes node PID 1, so the SIGTERM
# Docker and Kubernetes send on stop reaches the app, which drains and exits.
set -eu

APP_ROOT=/app

usage() {
  apps=''
  for main in "$APP_ROOT"/apps/*/dist/main.js; do
    [ -f "$main" ] || continue
    name=${main#"$APP_ROOT"/apps/}
    apps="$apps ${name%%/*}"
  done
  echo "usage: <image> APP [node options…]   where APP is one of:${apps:- (none built)}"
  echo "       <image> COMMAND [ARG…]         runs any other command"
  echo "Configuration comes from environment variables (README.md, Configuration)."
}

if [ "$#" -eq 0 ]; then
  usage
  exit 64
fi

case "$1" in
  help | -h | --help)
    usage
    exit 0
    ;;
esac

app=$1
case "$app" in
  */* | .*) ;; # never a path
  *)
    if [ -f "$APP_ROOT/apps/$app/dist/main.js" ]; then
      shift
      exec node "$@" "$APP_ROOT/apps/$app/dist/main.js"
    fi
    ;;
esac

exec "$@"
