#!/bin/sh
# Network suite for demoapp, run on a client host: asks the demoapp service on another host of the
# group (SERVER in /etc/demoapp/demoapp.conf) for a greeting, across the group's network.
# Usage: network.sh [RESULTS_FILE]   (default: $SMOKESTACK_RESULTS_DIR/demoapp-network.xml)
set -u

out=${1:-${SMOKESTACK_RESULTS_DIR:-.}/demoapp-network.xml}
CONFIG=${DEMOAPP_CONFIG:-/etc/demoapp/demoapp.conf}
SERVER='' PORT=8080
# shellcheck disable=SC1090
[ -r "$CONFIG" ] && . "$CONFIG"
cases=''
tests=0
failures=0

record() { # name outcome message
  tests=$((tests + 1))
  if [ "$2" = pass ]; then
    cases="$cases<testcase classname=\"demoapp.network\" name=\"$1\"/>"
  else
    failures=$((failures + 1))
    message=$(printf '%s' "$3" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g')
    cases="$cases<testcase classname=\"demoapp.network\" name=\"$1\"><failure message=\"$message\"/></testcase>"
  fi
  echo "$2: $1${3:+ ($3)}"
}

me=$(hostname)
server_address=$(getent hosts "$SERVER" | awk '{ print $1; exit }')
if [ -n "$server_address" ]; then record test_server_resolves pass ''; else record test_server_resolves fail "'$SERVER' does not resolve on $me"; fi
if [ -n "$SERVER" ] && [ "$SERVER" != "$me" ]; then record test_server_is_another_host pass ''; else record test_server_is_another_host fail "SERVER is '$SERVER', this host is $me"; fi
reply=$(demoapp ask SmokeStack 2>&1)
expected="${DEMOAPP_EXPECTED_GREETING:-Hello}, SmokeStack!"
if [ "$reply" = "$expected" ]; then record test_greeting_over_network pass ''; else record test_greeting_over_network fail "expected '$expected' from $SERVER:$PORT, got '$reply'"; fi

mkdir -p "$(dirname "$out")"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="demoapp.network" tests="%s" failures="%s" skipped="0">%s</testsuite></testsuites>\n' \
  "$tests" "$failures" "$cases" > "$out"
echo "demoapp network: $tests tests, $failures failures, asked $SERVER ($server_address) from $me -> $out"
[ "$failures" -eq 0 ]
