#!/bin/sh
# Smoke suite for demoapp: exercises the installed package and writes JUnit XML.
# Usage: smoke.sh [RESULTS_FILE]   (default: $SMOKESTACK_RESULTS_DIR/demoapp-smoke.xml)
set -u

out=${1:-${SMOKESTACK_RESULTS_DIR:-.}/demoapp-smoke.xml}
cases=''
tests=0
failures=0
skipped=0

xml_escape() {
  printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'
}

record() { # name outcome message
  tests=$((tests + 1))
  case "$2" in
    pass) cases="$cases<testcase classname=\"demoapp.smoke\" name=\"$1\"/>" ;;
    fail)
      failures=$((failures + 1))
      cases="$cases<testcase classname=\"demoapp.smoke\" name=\"$1\"><failure message=\"$(xml_escape "$3")\"/></testcase>"
      ;;
    skip)
      skipped=$((skipped + 1))
      cases="$cases<testcase classname=\"demoapp.smoke\" name=\"$1\"><skipped message=\"$(xml_escape "$3")\"/></testcase>"
      ;;
  esac
  echo "$2: $1${3:+ ($3)}"
}

expect() { # name expected command...
  name=$1 expected=$2
  shift 2
  actual=$("$@" 2>&1)
  if [ "$actual" = "$expected" ]; then record "$name" pass ''; else record "$name" fail "expected '$expected', got '$actual'"; fi
}

expect test_installed 'demoapp 1.0' demoapp version
expect test_greeting "${DEMOAPP_EXPECTED_GREETING:-Hello}, SmokeStack!" demoapp greet SmokeStack
if demoapp check >/dev/null 2>&1; then record test_config_valid pass ''; else record test_config_valid fail "demoapp check failed: $(demoapp check 2>&1)"; fi
if [ -r /etc/demoapp/demoapp.conf ]; then record test_managed_config pass ''; else record test_managed_config fail 'missing /etc/demoapp/demoapp.conf'; fi
record test_listens_on_port skip 'the port is checked from another host by the network suite'

mkdir -p "$(dirname "$out")"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="demoapp.smoke" tests="%s" failures="%s" skipped="%s">%s</testsuite></testsuites>\n' \
  "$tests" "$failures" "$skipped" "$cases" > "$out"
echo "demoapp smoke: $tests tests, $failures failures, $skipped skipped -> $out"
[ "$failures" -eq 0 ]
