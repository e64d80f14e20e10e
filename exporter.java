///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Serves the release-level Prometheus metrics of a context: status, phase, share, lag, routed counts, last check and gate.
//JAVA 17+
//SOURCES lib/Deps.java

/** Serves the release-level Prometheus metrics of a context. The work is done by {@link canary.cli.ExporterCommand} in lib/. */
class exporter {
    public static void main(String[] args) {
        canary.cli.Cli.main(new canary.cli.ExporterCommand(), args);
    }
}
