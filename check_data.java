///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Checks per partition that every routed record is in exactly one of the two topics.
//JAVA 17+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES lib/Deps.java

/** Checks per partition that every routed record is in exactly one of the two topics. The work is done by {@link canary.cli.CheckDataCommand} in lib/, which the tests drive too. */
class check_data {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.CheckDataCommand(), args);
    }
}
