///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Advances a canary release along the plan in its context, at most one step a run (made for cron).
//JAVA 17+
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xlog:cds=off -Xlog:cds+dynamic=off
//CDS
//SOURCES lib/Deps.java

/** Advances a canary release along the plan in its context, at most one step a run. The work is done by {@link canary.cli.RolloutCommand} in lib/, which the tests drive too. */
class rollout {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.RolloutCommand(), args);
    }
}
