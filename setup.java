///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Provisions the platform of a context: local KRaft broker, topic, demo producer and legacy version.
//JAVA 17+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES lib/Deps.java lib/platform/broker/*.java lib/demo/*.java

/** Provisions the platform of a context: local KRaft broker, topic, demo producer and legacy version. The work is done by {@link canary.cli.SetupCommand} in lib/, which the tests drive too. */
class setup {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.SetupCommand(), args);
    }
}
