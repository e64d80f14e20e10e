///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Runs one instance of the embedded exactly-once router.
//JAVA 17+
//SOURCES lib/Deps.java

/** Runs one instance of the embedded exactly-once router. The work is done by {@link canary.cli.RouterCommand} in lib/, which the tests drive too. */
class router {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.RouterCommand(), args);
    }
}
