///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Hands the original topic back to the legacy version at the exact position routing reached.
//JAVA 17+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES lib/Deps.java

/** Hands the original topic back to the legacy version at the exact position routing reached. The work is done by {@link canary.cli.RollbackCommand} in lib/, which the tests drive too. */
class rollback {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.RollbackCommand(), args);
    }
}
