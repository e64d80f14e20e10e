///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Starts a canary release: routes a share of the original topic to the new version.
//JAVA 17+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES lib/Deps.java

/** Starts a canary release: routes a share of the original topic to the new version. The work is done by {@link canary.cli.MigrationCommand} in lib/, which the tests drive too. */
class migration {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.MigrationCommand(), args);
    }
}
