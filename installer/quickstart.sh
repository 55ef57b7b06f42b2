#!/usr/bin/env bash
# The README's two quick-start commands:
#   installer/quickstart.sh studio   install deps, build, open the studio on projects/demo
#   installer/quickstart.sh test     install deps, build, run the whole test suite
# Build type and directory: BUILD_DIR (default build), CMAKE_BUILD_TYPE (default Release).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"

build() {
  "$here/installer/install-deps.sh"
  local gen=()
  if command -v ninja >/dev/null 2>&1 && [ ! -f "$BUILD_DIR/Makefile" ]; then gen=(-G Ninja); fi
  cmake -S . -B "$BUILD_DIR" "${gen[@]}" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" \
        -DREASONREC_BUILD_GUI=ON -DREASONREC_BUILD_TESTS=ON
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

case "${1:-}" in
  studio)
    build
    if [ -x "$BUILD_DIR/app/reasonrec-studio" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
      exec "$BUILD_DIR/app/reasonrec-studio" "$here/projects/demo"
    fi
    echo "quickstart: no display; running the demo project headless instead" >&2
    exec "$BUILD_DIR/app/reasonrec" demo --project "$here/projects/demo"
    ;;
  test)
    build
    ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 900
    ;;
  build)
    build
    ;;
  *)
    echo "usage: installer/quickstart.sh studio|test|build" >&2
    exit 2
    ;;
esac
