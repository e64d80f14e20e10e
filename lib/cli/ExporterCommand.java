package canary.cli;

import java.time.Duration;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;

import canary.common.Text;
import canary.common.UserException;
import canary.context.Context;
import canary.context.MetricsSettings;

@Command(name = "exporter", mixinStandardHelpOptions = true,
        description = "Serves the release-level Prometheus metrics of a context until stopped: status, phase, share, the lag of the "
                + "router and of each version per partition, the records routed to each version, the router instances, the last "
                + "check_data and the last rollout gate. Measured like status.java, every --interval (reading the derived topics to "
                + "count them), and served from the last measurement. For clusters where the kit runs no router (engine ksqldb), or "
                + "one view of a release whatever its engine. Changes nothing.",
        footer = {"", "Example:", "  ./jbang exporter.java services_examples/context.yaml --port 9400",
                "  curl -s http://127.0.0.1:9400/metrics | grep canary_release_share"})
public final class ExporterCommand extends ContextCommand {

    @Option(names = "--port", defaultValue = "9400", paramLabel = "PORT", description = "the port to serve /metrics on (default ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--host", defaultValue = MetricsSettings.LOOPBACK, paramLabel = "ADDRESS",
            description = "the address to listen on (default ${DEFAULT-VALUE}; 0.0.0.0 for a Prometheus on another host)")
    String host;

    @Option(names = "--interval", defaultValue = "30s", converter = PositiveDurationConverter.class, paramLabel = "DURATION",
            description = "how often to measure the release (default ${DEFAULT-VALUE}; each measurement reads the derived topics)")
    Duration interval;

    @Override
    public Integer call() throws Exception {
        if (port < 1 || port > 65535) {
            throw new UserException("invalid --port " + port + ": expected a port from 1 to 65535");
        }
        Context ctx = context();
        ReleaseMetrics metrics = new ReleaseMetrics(ctx.name());
        try (Session s = wiring.open(ctx, commandLine(), out(), err(), timeout)) {
            // The first measurement before serving: a scrape never sees an empty release.
            metrics.update(StatusReport.measure(s, timeout, false), wiring.clock().millis());
            HTTPServer server;
            try {
                server = HTTPServer.builder().hostname(host).port(port).registry(metrics.registry()).buildAndStart();
            } catch (java.net.BindException e) {
                throw new UserException("cannot serve metrics on " + host + ":" + port + " (" + e.getMessage() + "): give another --port");
            }
            try (server) {
                out().println("exporter of context '" + ctx.name() + "' serves http://" + host + ":" + server.getPort() + "/metrics, measured every "
                        + canary.common.Durations.compact(interval));
                out().flush();
                while (!Thread.currentThread().isInterrupted()) {
                    Thread.sleep(interval.toMillis());
                    try {
                        metrics.update(StatusReport.measure(s, timeout, false), wiring.clock().millis());
                    } catch (RuntimeException e) {
                        // Kafka gone for a while: serve the last values, count the failure, try again at the next interval.
                        metrics.failed();
                        err().println(wiring.clock().instant() + " exporter: measuring failed: " + Text.firstLine(String.valueOf(e.getMessage())));
                        err().flush();
                    }
                }
            }
        }
        return 0;
    }

    public static void main(String[] args) {
        Cli.main(new ExporterCommand(), args);
    }
}
