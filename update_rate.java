///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Changes the share of records routed to the new version.
//JAVA 17+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES lib/Deps.java

/** Changes the share of records routed to the new version. The work is done by {@link canary.cli.UpdateRateCommand} in lib/, which the tests drive too. */
class update_rate {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.UpdateRateCommand(), args);
    }
}
