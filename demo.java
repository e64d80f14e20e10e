///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION The whole canary release on a local cluster: setup, migration, ramp to 100 %, check, promote, report.
//JAVA 17+
//SOURCES lib/Deps.java lib/platform/broker/*.java lib/demo/*.java

/** The whole canary release on a local cluster. The work is done by {@link canary.demo.DemoCommand} in lib/. */
class demo {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.demo.DemoCommand(), args);
    }
}
