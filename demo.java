///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION The whole canary release on a local cluster: setup, migration, ramp to 100 %, check, promote, report.
//JAVA 17+
//SOURCES lib/*.java

/** The whole canary release on a local cluster. The work is done by {@link canary.DemoCommand} in lib/. */
class demo {
    public static void main(String[] args) {
        canary.Cli.main(new canary.DemoCommand(), args);
    }
}
