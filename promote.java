///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Hands the original topic to the new version at the exact position routing reached.
//JAVA 17+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES lib/Deps.java

/** Hands the original topic to the new version at the exact position routing reached. The work is done by {@link canary.cli.PromoteCommand} in lib/, which the tests drive too. */
class promote {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.PromoteCommand(), args);
    }
}
