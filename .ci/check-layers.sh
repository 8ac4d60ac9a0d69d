#!/usr/bin/env bash
# Fails when a module includes a folder above it (STYLE.md: modules point one way), when an include
# climbs out with "../", when code outside the SDK's tests reaches its private headers, when a CMake
# file puts the repo root on an include path, or when code outside the Clock seam reads the wall
# clock in history/, scheduler/ or server/.
#
#   check-layers.sh [--root DIR]   check the tree at DIR (default: this repository)
#   check-layers.sh --self-test    plant violations in scratch trees and check each is caught
#
# Include roots: "history/x.h", "cairn/v1/x.pb.h" (proto), "cairn/x.h" (the SDK's public headers,
# called `sdk` below), "worker-sdk/src/x.h" (the SDK's private headers, through the test-only CMake
# target cairn_sdk_internal_for_testing). The build enforces the same rules (each target sees only
# the include roots of what it links, cmake/include_roots.cmake); this script says it sooner and
# also covers folders the build has not reached yet (ai/, deploy/).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/.."

check_tree() {  # prints the violations in the tree at $1; returns 1 when there are any
  cd "$1" || return 2
  local fail=0 out
  local roots=(proto history scheduler server sdk worker-sdk cli deploy ai examples tests bench)

  # src_grep <regex> [grep options]: matching lines of the sources (not build trees), as path:line:.
  src_grep() {
    local re=$1; shift
    [ $# -gt 0 ] || set -- --include='*.h' --include='*.cc'
    grep -rnE "$re" "$@" --exclude-dir='build*' --exclude-dir=.git . 2>/dev/null | sed 's|^\./||'
  }
  # includes <dir> <prefix>...: the #include lines under <dir> that use one of the include roots.
  includes() {
    local dir=$1 p; shift
    [ -e "$dir" ] || return 0
    for p in "$@"; do
      case $p in
        sdk) grep -rnE '#include *["<]cairn/' "$dir" --include='*.h' --include='*.cc' \
               | grep -vE '#include *["<]cairn/v1/' ;;
        *) grep -rnE "#include *[\"<]$p/" "$dir" --include='*.h' --include='*.cc' ;;
      esac
    done
  }
  # forbid <dir> <prefix>...: <dir> must not include any of the prefixes.
  forbid() {
    local dir=$1; shift
    out=$(includes "$dir" "$@")
    if [ -n "$out" ]; then
      echo "layering: $dir/ must not include $* (STYLE.md: modules point one way):"
      echo "$out"
      fail=1
    fi
  }
  # allow <dir> <prefix>...: <dir> may include only the listed roots (and its own files).
  allow() {
    local dir=$1 r forbidden=(); shift
    for r in "${roots[@]}"; do
      [[ " $* " == *" $r "* ]] || forbidden+=("$r")
    done
    forbid "$dir" "${forbidden[@]}"
  }

  allow proto proto
  allow history proto history
  allow scheduler proto history scheduler
  allow server proto history scheduler server
  allow worker-sdk proto sdk
  forbid worker-sdk cairn/ai  # the SDK is below the AI batteries
  forbid worker-sdk cairn/deploy
  forbid ai cairn/deploy      # the AI batteries are below provisioning
  allow ai proto sdk ai
  allow deploy proto sdk ai deploy
  allow cli proto sdk ai deploy cli
  allow examples proto sdk ai examples
  # Tests of a module see that module and the ones below it; e2e and crash tests drive the real
  # server through the SDK and the stubs (e2e also reads a stopped server's store with history/).
  allow tests/history proto history tests
  allow tests/scheduler proto history scheduler tests
  allow tests/server proto history scheduler server tests
  allow tests/sdk proto sdk worker-sdk tests
  allow tests/e2e proto sdk history tests
  allow tests/crash proto sdk tests
  allow tests/ai proto sdk ai tests
  allow tests/deploy proto sdk ai deploy tests
  allow bench proto history scheduler server sdk worker-sdk examples tests
  # Of tests/, benchmarks share only the test-support library (cairn_test_support).
  out=$(includes bench tests | grep -vE '#include *"tests/support/')
  if [ -n "$out" ]; then
    echo "layering: bench/ may include only tests/support/ of tests/:"
    echo "$out"
    fail=1
  fi

  # The SDK's private headers: only through the test-support target, never by their source path.
  out=$(src_grep '#include *["<]worker-sdk/' | grep -vE '^worker-sdk/' \
        | grep -vE "^(tests/sdk/[^:]*|bench/sdk_bench\.cc):[0-9]+:#include *\"worker-sdk/src/")
  if [ -n "$out" ]; then
    echo "layering: the SDK's private headers (worker-sdk/src/) are for its own tests and benchmarks"
    echo "(cairn_sdk_internal_for_testing); use the public \"cairn/...\" headers:"
    echo "$out"
    fail=1
  fi

  # No include climbs out of its folder: a "../" path bypasses every rule above.
  out=$(src_grep '#include *"(\.\./|[^"]*/\.\./)')
  if [ -n "$out" ]; then
    echo "layering: include through an include root (\"history/x.h\", \"cairn/x.h\"), not a ../ path:"
    echo "$out"
    fail=1
  fi

  # No CMake target puts the repo root on its include path; modules declare their roots with
  # cairn_include_root() (cmake/include_roots.cmake).
  out=$(src_grep 'include_directories\(.*\$\{(PROJECT|CMAKE)_SOURCE_DIR\}/?(\.)?( |\))|include_directories\(.*/\.\.( |\)|/)' \
          --include='CMakeLists.txt' --include='*.cmake')
  if [ -n "$out" ]; then
    echo "layering: the repo root (or a ../ path) on an include path lets any module include any"
    echo "other's headers; use cairn_include_root(<target> <scope> <folder>):"
    echo "$out"
    fail=1
  fi

  out=$(grep -rnE '(system_clock|steady_clock)::now\(' history scheduler server --include='*.cc' \
          --include='*.h' 2>/dev/null | grep -vE '^scheduler/clock\.(h|cc):' || true)
  if [ -n "$out" ]; then
    echo "clock reads outside the Clock seam (use cairn::Clock, scheduler/clock.h):"
    echo "$out"
    fail=1
  fi
  return $fail
}

# plant <expect: ok|fail> <file> <line>: a scratch tree holding only <file>, whose content is
# <line>; checks that the script's verdict on it is <expect>.
plant() {
  local expect=$1 file=$2 line=$3 tmp verdict
  tmp=$(mktemp -d)
  mkdir -p "$tmp/$(dirname "$file")"
  printf '%s\n' "$line" >"$tmp/$file"
  if (check_tree "$tmp" >/dev/null); then verdict=ok; else verdict=fail; fi
  rm -rf "$tmp"
  if [ "$verdict" != "$expect" ]; then
    echo "self-test: $file with '$line': expected $expect, got $verdict"
    return 1
  fi
}

self_test() {
  local bad=0
  plant fail server/x.cc '#include "cairn/client.h"' || bad=1
  plant fail server/x.cc '#include "cli/common.h"' || bad=1
  plant fail server/x.cc '#include "worker-sdk/src/fiber.h"' || bad=1
  plant fail history/x.h '#include "scheduler/clock.h"' || bad=1
  plant fail worker-sdk/src/x.cc '#include "history/ids.h"' || bad=1
  plant fail cli/x.cc '#include "server/engine.h"' || bad=1
  plant fail cli/x.cc '#include "../history/ids.h"' || bad=1
  plant fail tests/sdk/x.cc '#include "../../worker-sdk/src/fiber.h"' || bad=1
  plant fail tests/sdk/x.cc '#include "history/ids.h"' || bad=1
  plant fail tests/e2e/x.cc '#include "worker-sdk/src/fiber.h"' || bad=1
  plant fail tests/e2e/x.cc '#include "server/engine.h"' || bad=1
  plant fail ai/x.cc '#include "cli/common.h"' || bad=1
  plant fail ai/x.cc '#include "deploy/plan.h"' || bad=1
  plant fail deploy/x.cc '#include "history/ids.h"' || bad=1
  plant fail bench/x.cc '#include "cli/common.h"' || bad=1
  plant fail bench/x.cc '#include "tests/e2e/fixture.h"' || bad=1
  plant ok bench/x.cc '#include "tests/support/process.h"' || bad=1
  plant fail scheduler/timer.cc 'auto t = std::chrono::steady_clock::now();' || bad=1
  plant fail cli/CMakeLists.txt 'target_include_directories(cairnctl PRIVATE ${PROJECT_SOURCE_DIR})' || bad=1
  plant fail tests/CMakeLists.txt 'target_include_directories(t PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/..)' || bad=1
  plant ok server/x.cc '#include "cairn/v1/service.grpc.pb.h"' || bad=1
  plant ok deploy/x.cc '#include "ai/agent.h"' || bad=1
  plant ok ai/x.cc '#include "cairn/client.h"' || bad=1
  plant ok tests/sdk/x.cc '#include "worker-sdk/src/fiber.h"' || bad=1
  plant ok bench/sdk_bench.cc '#include "worker-sdk/src/replayer.h"' || bad=1
  plant ok tests/e2e/x.cc '#include "history/rocks_options.h"' || bad=1
  plant ok scheduler/clock.cc 'auto t = std::chrono::system_clock::now();' || bad=1
  [ $bad -eq 0 ] && echo "check-layers self-test: ok"
  return $bad
}

case "${1:-}" in
  --self-test) self_test; exit $? ;;
  --root) root=$2 ;;
  "") ;;
  *) echo "usage: check-layers.sh [--root DIR | --self-test]" >&2; exit 2 ;;
esac
check_tree "$root"
status=$?
[ $status -eq 0 ] && echo "check-layers: ok"
exit $status
