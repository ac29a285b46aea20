#!/bin/sh
# Generate the JAX-WS stubs from the served WSDL and compile GetLead.java into OUT_DIR.
#
#   MKTOWS_ENDPOINT=http://127.0.0.1:8080/soap/mktows/2_9 sh build.sh OUT_DIR
#
# Needs a JDK (11 and later no longer ship JAX-WS) and the JAX-WS RI 2.3 (javax.xml.ws). On
# Debian 12: apt-get install jaxws (wsimport, and libjaxws-java with its JAXB and SAAJ runtime).
# Elsewhere, JAXWS_RT is the runtime's classpath (e.g. Maven's com.sun.xml.ws:jaxws-rt 2.3.x and
# its dependencies) and WSIMPORT the wsimport command. Then run:
#   java -cp OUT_DIR:$JAXWS_RT GetLead ada@example.com
set -eu
out=${1:?usage: build.sh OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
JAXWS_RT=${JAXWS_RT:-/usr/share/java/jaxws-rt.jar}
WSIMPORT=${WSIMPORT:-wsimport}

mkdir -p "$out/src"
# -XadditionalHeaders: AuthenticationHeader becomes a parameter of every operation.
$WSIMPORT -quiet -XadditionalHeaders -Xnocompile -p com.marketo.mktows -s "$out/src" -d "$out/src" \
    "$MKTOWS_ENDPOINT?WSDL"
find "$out/src" -name '*.java' -exec javac -nowarn -encoding UTF-8 -cp "$JAXWS_RT" -d "$out" "$here/GetLead.java" {} +
