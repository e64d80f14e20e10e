///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Shows where a canary release stands: phase, share, router instances, lag and counts per partition.
//JAVA 17+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES lib/Deps.java

/** Shows where a canary release stands. The work is done by {@link canary.cli.StatusCommand} in lib/. */
class status {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.StatusCommand(), args);
    }
}
