#!/usr/bin/env bash
# Fails when a module includes a folder above it (STYLE.md: modules point one way), or when code
# outside the Clock seam reads the wall clock in history/, scheduler/ or server/.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
check() {  # dir, forbidden prefixes...
  local dir=$1; shift
  [ -d "$dir" ] || return 0
  for p in "$@"; do
    if grep -rnE "#include *[\"<]$p/" "$dir" --include='*.h' --include='*.cc' >/tmp/layers.$$ 2>/dev/null; then
      echo "layering: $dir/ must not include $p/:"; cat /tmp/layers.$$; fail=1
    fi
  done
}
check history scheduler server worker-sdk cli deploy examples
check scheduler server worker-sdk cli deploy examples
check worker-sdk server history scheduler cli deploy examples
check cli server history scheduler
check deploy server history scheduler cli
check examples server history scheduler
clk=$(grep -rnE '(system_clock|steady_clock)::now\(' history scheduler server --include='*.cc' --include='*.h' \
  | grep -vE '^scheduler/clock\.(h|cc):' || true)
if [ -n "$clk" ]; then
  echo "clock reads outside the Clock seam:"; echo "$clk"; fail=1
fi
rm -f /tmp/layers.$$
[ $fail -eq 0 ] && echo "check-layers: ok"
exit $fail
