#!/bin/sh
# The auth front's process: renders the nginx config from the template and runs nginx in the foreground.
# The tests run this same script (with AUTH_FRONT_TEMPLATE pointing into the repo).
set -eu
: "${AUTH_FRONT_LISTEN:?must be set}" "${AUTH_FRONT_SIDECAR:?must be set}" "${AUTH_FRONT_APP:?must be set}"
AUTH_FRONT_RUN_DIR="${AUTH_FRONT_RUN_DIR:-/tmp/auth-front}"
template="${AUTH_FRONT_TEMPLATE:-/etc/auth-front/nginx.conf.template}"
# Cached auth decisions are filed under an HMAC of the token with this per-start secret: no token on disk,
# and a restarted front starts from an empty cache.
AUTH_FRONT_CACHE_SECRET="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
export AUTH_FRONT_LISTEN AUTH_FRONT_SIDECAR AUTH_FRONT_APP AUTH_FRONT_RUN_DIR AUTH_FRONT_CACHE_SECRET
umask 077
mkdir -p "$AUTH_FRONT_RUN_DIR"
rm -rf "$AUTH_FRONT_RUN_DIR/cache"
envsubst '${AUTH_FRONT_LISTEN} ${AUTH_FRONT_SIDECAR} ${AUTH_FRONT_APP} ${AUTH_FRONT_RUN_DIR} ${AUTH_FRONT_CACHE_SECRET}' \
    < "$template" > "$AUTH_FRONT_RUN_DIR/nginx.conf"
exec nginx -e stderr -p "$AUTH_FRONT_RUN_DIR" -c "$AUTH_FRONT_RUN_DIR/nginx.conf"
