package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.platform.Processes;
import canary.platform.PrometheusClient;
import canary.release.Rollout;

/**
 * Metrics and metric gates with a real Prometheus (Debian's): it scrapes router instance 0 (started by the migration, serving
 * on metrics.port) and exporter.java during a release; a rollout gate on a query of the router's metrics advances in one run,
 * and holds in the next, whose threshold is above what was routed, printing the query and the value.
 */
class PrometheusGateTest {

    @TempDir
    Path dir;

    static String plan(int prometheusPort, String minRoutedToNew) {
        return """
                rollout:
                  steps:
                    - share: 0.2
                    - share: 0.6
                    - share: 1.0
                  gates:
                    check_data: false
                    prometheus:
                      url: http://127.0.0.1:%d
                      queries:
                        - name: routed_to_new
                          query: 'sum(canary_router_records_routed_total{context="{context}", version="new"})'
                          min: %s
                        - name: committed
                          query: 'sum(canary_router_transactions_committed_total{context="{context}"})'
                          min: 1
                """.formatted(prometheusPort, minRoutedToNew);
    }

    /** The exporter's output, shown when a wait fails. */
    static Path exporterLog;

    /**
     * Waits until {@code query} gives a value that {@code ok} accepts, as Prometheus has scraped it. A deadline, not a timing
     * assertion: on a loaded machine the child JVMs take long to start.
     */
    static double await(PrometheusServer prom, String what, String query, java.util.function.DoublePredicate ok) {
        PrometheusClient client = new PrometheusClient();
        double[] last = {Double.NaN};
        String[] why = {null};
        try {
            Waits.until("Prometheus shows " + what, Duration.ofSeconds(150), Waits.quiet(), () -> {
                Rollout.MetricValue v = client.query(prom.url(), query, Duration.ofSeconds(5));
                why[0] = v.failure();
                last[0] = v.value();
                return v.failure() == null && ok.test(v.value());
            });
        } catch (Waits.WaitTimeoutException e) {
            String exporter;
            try {
                exporter = exporterLog == null ? "" : Files.readString(exporterLog);
            } catch (java.io.IOException io) {
                exporter = "(no exporter log)";
            }
            throw new AssertionError(what + ": last answer " + (why[0] != null ? why[0] : last[0]) + "\n--- prometheus:\n"
                    + PrometheusServer.log(prom.dir) + "\n--- exporter.java:\n" + exporter, e);
        }
        return last[0];
    }

    @Test
    @DisplayName("Prometheus scrapes the router and the exporter during a release; a gate on its query advances one run and holds the next")
    void a_gate_on_the_routers_real_metrics_advances_then_holds() throws Exception {
        assertTrue(PrometheusServer.installed(), "prometheus is not on the PATH: install Debian's (apt-get install prometheus); .ci/run does");
        int routerPort = PrometheusServer.freePort();
        int exporterPort = PrometheusServer.freePort();
        int promPort = PrometheusServer.freePort();
        String metrics = "metrics:\n  port: " + routerPort + "\n";
        try (Kit kit = new Kit(dir, 3, metrics + plan(promPort, "1")); TestProducer producer = new TestProducer(kit.topic)) {
            String context = kit.ctx().name();
            RolloutTest.running(kit, producer);
            // The exporter starts before the migration (it serves "no migration" until there is one): its JVM's start overlaps it.
            Process exporter = new ProcessBuilder(Processes.javaCommand("canary.cli.ExporterCommand", kit.contextFile.toString(), "--port",
                    String.valueOf(exporterPort), "--interval", "1s")).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("exporter.log").toFile()).start();
            exporterLog = dir.resolve("exporter.log");
            Kit.Run start = RolloutTest.rollout(kit).ok();
            assertTrue(start.out().contains("no migration yet: starting it at step 1 of 3"), start.out());

            try (PrometheusServer prom = startPrometheus(promPort, routerPort, exporterPort)) {
                String routedToNew = "sum(canary_router_records_routed_total{context=\"" + context + "\", version=\"new\"})";
                double routed = await(prom, "records routed to the new version", routedToNew, v -> v >= 1);
                assertTrue(routed >= 1);
                await(prom, "the router's share 20 %", "max(canary_router_share{context=\"" + context + "\"})", v -> v == 0.2);

                Kit.Run advance = RolloutTest.rollout(kit).ok();
                assertTrue(advance.out().contains("advancing to 60 % (step 2 of 3"), advance.out());
                assertTrue(advance.out().contains("gates passed: routing, prometheus:routed_to_new, prometheus:committed"), advance.out());
                RolloutTest.assertShare(kit, 0.6);

                // Both views follow the state: the router's own gauge and exporter.java's, as Prometheus scraped them.
                await(prom, "the router's share 60 %", "max(canary_router_share{context=\"" + context + "\"})", v -> v == 0.6);
                await(prom, "the exporter's share 60 %", "max(canary_release_share{context=\"" + context + "\"})", v -> v == 0.6);
                await(prom, "the exporter's phase routing", "max(canary_release_phase{context=\"" + context + "\", phase=\"routing\"})",
                        v -> v == 1);
                await(prom, "records the exporter counted in " + kit.topic + "_new",
                        "sum(canary_release_routed_records{context=\"" + context + "\", version=\"new\"})", v -> v >= 1);

                // A threshold above anything routed so far: the next run holds, printing the query and the value.
                Files.writeString(kit.contextFile, Files.readString(kit.contextFile).replaceFirst("min: 1\n", "min: 1000000000\n"));
                Kit.Run hold = RolloutTest.rollout(kit).expect(Rollout.GATE_FAILED);
                assertTrue(hold.out().contains("gate failed: prometheus routed_to_new (" + routedToNew + "): "), hold.out());
                assertTrue(hold.out().contains(" < 1000000000; holding at 60 % (step 2 of 3) (on_failure hold)"), hold.out());
                RolloutTest.assertShare(kit, 0.6);
                assertEquals("prometheus:routed_to_new", kit.state().lastGate().gate());
            } finally {
                PrometheusServer.stop(exporter);
            }
            // Exactly once with the router's metrics is what every router test proves (the router always counts); this test
            // ends here, and the Kit stops the release's processes.
        }
    }

    private PrometheusServer startPrometheus(int port, int routerPort, int exporterPort) throws java.io.IOException {
        return PrometheusServer.start(dir.resolve("prometheus"), port, Map.of("router", "127.0.0.1:" + routerPort,
                "exporter", "127.0.0.1:" + exporterPort));
    }
}
