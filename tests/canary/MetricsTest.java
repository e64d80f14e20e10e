package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import io.prometheus.metrics.exporter.httpserver.HTTPServer;

import canary.cli.ReleaseMetrics;
import canary.cli.StatusReport;
import canary.common.Json;
import canary.common.UserException;
import canary.context.Context;
import canary.context.MetricsSettings;
import canary.context.Role;
import canary.context.Routing;
import canary.engine.router.RouterMetrics;
import canary.release.Cluster;
import canary.release.MigrationState;

/**
 * The metric names: what the router and exporter.java serve over HTTP (through the Prometheus client's own server) is exactly
 * their list of names, each documented in the README, and the Grafana dashboard queries only those names and shows each.
 */
@Tag("fast")
class MetricsTest {

    static final Path ROOT = Path.of(System.getProperty("kit.root", "."));

    static String scrape(int port) throws IOException, InterruptedException {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        return r.body();
    }

    /** The names of the samples of an exposition, histogram samples under their base name when {@code names} has it. */
    static Set<String> sampleNames(String exposition, List<String> names) {
        Set<String> out = new TreeSet<>();
        for (String line : exposition.lines().toList()) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            out.add(base(line.split("[{ ]", 2)[0], names));
        }
        return out;
    }

    static String base(String name, List<String> names) {
        for (String suffix : List.of("_bucket", "_sum", "_count", "_created")) {
            if (name.endsWith(suffix) && names.contains(name.substring(0, name.length() - suffix.length()))) {
                return name.substring(0, name.length() - suffix.length());
            }
        }
        return name;
    }

    @Test
    void a_router_serves_every_name_of_its_list_and_no_other() throws Exception {
        RouterMetrics m = new RouterMetrics("orders-demo");
        MigrationState st = MigrationState.start("orders-demo", Context.EngineKind.ROUTER, Routing.RANDOM, 0.25, Map.of(0, 0L, 1, 0L))
                .withPhase(MigrationState.Phase.ROUTING);
        m.state(st, true);
        RouterMetrics.Batch b = m.batch();
        b.add(0, true, System.currentTimeMillis() - 2000);
        b.add(1, false, System.currentTimeMillis());
        b.add(1, false, System.currentTimeMillis());
        m.committed(b, System.nanoTime());
        m.aborted("rebalance");
        MockConsumer<byte[], byte[]> consumer = new MockConsumer<>(OffsetResetStrategy.EARLIEST);
        TopicPartition p0 = new TopicPartition("orders", 0);
        consumer.assign(List.of(p0));
        consumer.updateBeginningOffsets(Map.of(p0, 0L));
        consumer.updateEndOffsets(Map.of(p0, 40L));
        consumer.seek(p0, 30L);
        m.lag(consumer);
        String text;
        try (HTTPServer server = m.serve("127.0.0.1", 0)) {
            text = scrape(server.getPort());
        }
        assertEquals(new TreeSet<>(RouterMetrics.NAMES), sampleNames(text, RouterMetrics.NAMES), text);
        assertTrue(text.contains("canary_router_records_routed_total{context=\"orders-demo\",partition=\"1\",version=\"legacy\"} 2.0"), text);
        assertTrue(text.contains("canary_router_records_routed_total{context=\"orders-demo\",partition=\"0\",version=\"new\"} 1.0"), text);
        assertTrue(text.contains("canary_router_share{context=\"orders-demo\"} 0.25"), text);
        assertTrue(text.contains("canary_router_phase{context=\"orders-demo\",phase=\"routing\"} 1.0"), text);
        assertTrue(text.contains("canary_router_phase{context=\"orders-demo\",phase=\"promoted\"} 0.0"), text);
        assertTrue(text.contains("canary_router_transactions_aborted_total{context=\"orders-demo\",reason=\"rebalance\"} 1.0"), text);
        assertTrue(text.contains("canary_router_transactions_committed_total{context=\"orders-demo\"} 1.0"), text);
        assertTrue(text.contains("canary_router_lag_records{context=\"orders-demo\",partition=\"0\"} 10.0"), text);
        assertTrue(text.contains("canary_router_commit_latency_seconds_count{context=\"orders-demo\"} 1"), text);

        m.state(st.withRouterRunning(false), false);
        try (HTTPServer server = m.serve("127.0.0.1", 0)) {
            String paused = scrape(server.getPort());
            assertTrue(paused.contains("canary_router_routing{context=\"orders-demo\"} 0.0"), paused);
            assertTrue(!paused.contains("canary_router_lag_records{"), "a paused instance shows no lag of partitions it left: " + paused);
        }
    }

    @Test
    void a_router_refuses_a_port_in_use_in_one_line() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            UserException e = assertThrows(UserException.class, () -> new RouterMetrics("c").serve("127.0.0.1", taken.getLocalPort()));
            assertTrue(e.getMessage().startsWith("cannot serve metrics on 127.0.0.1:" + taken.getLocalPort() + " ("), e.getMessage());
            assertTrue(e.getMessage().endsWith("each router instance on a host needs its own port (metrics.port in the context + the instance"
                    + " number, or --metrics-port)"), e.getMessage());
        }
    }

    @Test
    void the_exporter_serves_every_name_of_its_list_from_a_status_report() throws Exception {
        Instant at = Instant.parse("2026-11-25T01:00:00Z");
        StatusReport r = new StatusReport("orders-demo", "orders", "service_v1", "service_v2", Context.EngineKind.KSQLDB,
                Context.PlatformKind.EXISTING, StatusReport.Health.DEGRADED, List.of("the new version has no members"), MigrationState.Phase.ROUTING,
                Routing.RANDOM, 0.3, List.of(), null, null, true, List.of(new Cluster.Member("m", "c", "h", List.of(0))),
                Map.of(Role.LEGACY, 1, Role.NEW, 0), null, new MigrationState.Check(at, true, 10, 7, 3, 0), null, null,
                new MigrationState.GateResult(at, 1, false, "prometheus:errors", "0.7 > 0.5"), null, List.of(),
                List.of(new StatusReport.Partition(0, 10L, 20L, 5L, 1L, 2L, 7L, 3L)), null);
        ReleaseMetrics m = new ReleaseMetrics("orders-demo");
        m.failed();
        m.update(r, at.toEpochMilli());
        String text;
        try (HTTPServer server = HTTPServer.builder().hostname("127.0.0.1").port(0).registry(m.registry()).buildAndStart()) {
            text = scrape(server.getPort());
        }
        assertEquals(new TreeSet<>(ReleaseMetrics.NAMES), sampleNames(text, ReleaseMetrics.NAMES), text);
        assertTrue(text.contains("canary_release_status{context=\"orders-demo\",status=\"degraded\"} 1.0"), text);
        assertTrue(text.contains("canary_release_share{context=\"orders-demo\"} 0.3"), text);
        assertTrue(text.contains("canary_release_lag_records{context=\"orders-demo\",partition=\"0\",version=\"router\"} 5.0"), text);
        assertTrue(text.contains("canary_release_lag_records{context=\"orders-demo\",partition=\"0\",version=\"new\"} 2.0"), text);
        assertTrue(text.contains("canary_release_routed_records{context=\"orders-demo\",partition=\"0\",version=\"legacy\"} 7.0"), text);
        assertTrue(text.contains("canary_release_version_members{context=\"orders-demo\",version=\"new\"} 0.0"), text);
        assertTrue(text.contains("canary_release_last_gate_passed{context=\"orders-demo\"} 0.0"), text);
        assertTrue(text.contains("canary_release_last_check_clean{context=\"orders-demo\"} 1.0"), text);
    }

    @Test
    void the_grafana_dashboard_queries_only_names_the_code_serves_and_shows_each() throws IOException {
        JsonNode d = Json.MAPPER.readTree(Files.readString(ROOT.resolve("services_examples/grafana-dashboard.json")));
        List<String> known = new ArrayList<>(RouterMetrics.NAMES);
        known.addAll(ReleaseMetrics.NAMES);
        Set<String> queried = new TreeSet<>();
        for (JsonNode panel : d.path("panels")) {
            assertTrue(panel.path("targets").size() > 0, "panel " + panel.path("title") + " has no query");
            for (JsonNode t : panel.path("targets")) {
                Matcher m = Pattern.compile("canary_[a-z_]+").matcher(t.path("expr").asText());
                while (m.find()) {
                    queried.add(base(m.group(), known));
                }
            }
        }
        Set<String> unknown = new TreeSet<>(queried);
        unknown.removeAll(known);
        assertEquals(Set.of(), unknown, "the dashboard queries metrics the code does not serve");
        assertEquals(new TreeSet<>(known), queried, "every metric has a panel");
    }

    static Context context(Path dir, String metricsYaml) throws IOException {
        Path f = canary.release.MinimalContext.write(dir, "orders-demo", metricsYaml);
        return Context.load(f);
    }

    @Test
    void router_instances_serve_on_the_context_port_plus_their_number_on_loopback_and_a_bad_key_is_refused_at_load(@TempDir Path dir)
            throws IOException {
        assertEquals(false, MetricsSettings.of(context(dir, "")).on());
        MetricsSettings m = MetricsSettings.of(context(dir, "metrics:\n  port: 9404\n"));
        assertEquals("127.0.0.1", m.host());
        assertEquals(9404, m.port(0));
        assertEquals(9406, m.port(2));
        assertEquals("0.0.0.0", MetricsSettings.of(context(dir, "metrics:\n  port: 9404\n  host: 0.0.0.0\n")).host());
        Context.ContextException e = assertThrows(Context.ContextException.class, () -> context(dir, "metrics:\n  port: 70000\n"));
        assertTrue(e.getMessage().endsWith("key 'metrics.port': expected a port from 1 to 65535 (router instance N listens on port + N;"
                + " 0 for none), got 70000"), e.getMessage());
        e = assertThrows(Context.ContextException.class, () -> context(dir, "metrics:\n  prot: 9404\n"));
        assertTrue(e.getMessage().endsWith("unknown key 'metrics.prot' (expected one of: host, port)"), e.getMessage());
    }

    @Test
    void the_readme_documents_every_name() throws IOException {
        String readme = Files.readString(ROOT.resolve("README.md"));
        for (String name : RouterMetrics.NAMES) {
            assertTrue(readme.contains("| `" + name + "` |"), name + " is not in the README's metrics table");
        }
        for (String name : ReleaseMetrics.NAMES) {
            assertTrue(readme.contains("| `" + name + "` |"), name + " is not in the README's metrics table");
        }
    }
}
