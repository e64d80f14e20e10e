///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Stops everything the kit started and deletes what setup provisioned.
//JAVA 17+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES lib/Deps.java

/** Stops everything the kit started and deletes what setup provisioned. The work is done by {@link canary.cli.TeardownCommand} in lib/, which the tests drive too. */
class teardown {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.TeardownCommand(), args);
    }
}
