package canary.cli;

import java.io.PrintWriter;
import java.time.Duration;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.common.Json;
import canary.context.Context;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows where a release stands: phase, engine, routing, share (and who changed it when), the router "
                + "instances, and per partition the start offset, the router's position, the lag of the router and of each "
                + "version, the records routed to each version so far; the last check_data. Exit code 0 healthy, 1 degraded "
                + "(routing should run but no instance does, a version is not consuming, the last check found a difference), "
                + "2 no migration.",
        footer = {"", "Examples:", "  ./jbang status.java services_examples/context.yaml",
                "  ./jbang status.java services_examples/context.yaml --output json | jq .partitions"})
public final class StatusCommand extends ContextCommand {

    /** How the report is printed. */
    public enum Output { TABLE, JSON }

    @Option(names = {"-o", "--output"}, defaultValue = "table", paramLabel = "table|json",
            description = "table (for people, default) or json (for tools; schema in the README)")
    Output output;

    @Option(names = "--history", description = "also list every change of the state: time, user, host, command, what")
    boolean history;

    @Option(names = "--watch", description = "refresh every few seconds until interrupted (on a terminal)")
    boolean watch;

    @Option(names = "--interval", defaultValue = "5s", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "refresh interval of --watch (default ${DEFAULT-VALUE})")
    Duration interval;

    @Override
    public Integer call() throws Exception {
        Context ctx = context();
        try (Session s = wiring.open(ctx, commandLine(), out(), err(), timeout)) {
            if (!watch) {
                return show(s, out());
            }
            int code;
            do {
                java.io.StringWriter buffer = new java.io.StringWriter();
                code = show(s, new PrintWriter(buffer));
                if (System.console() != null) {
                    out().print("\033[H\033[2J");
                }
                out().print(buffer);
                out().flush();
                Thread.sleep(interval.toMillis());
            } while (true);
        }
    }

    int show(Session s, PrintWriter out) throws Exception {
        StatusReport r = StatusReport.measure(s, timeout, history);
        if (output == Output.JSON) {
            out.println(Json.PRETTY.writeValueAsString(r));
        } else {
            r.print(out);
        }
        out.flush();
        return r.exitCode();
    }

    public static void main(String[] args) {
        Cli.main(new StatusCommand(), args);
    }
}
