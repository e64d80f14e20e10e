package canary.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.context.Context;
import canary.context.RolloutPlan;
import canary.context.RolloutPlan.MetricQuery;
import canary.platform.PrometheusClient;
import canary.release.Fakes.World;

/** Metric gates: the plan's gates.prometheus, its placeholders, the answers of the Prometheus query API, and rollout runs on fakes. */
@Tag("fast")
class MetricGatesTest {

    static final String PLAN = """
            rollout:
              steps:
                - share: 0.1
                  hold: 30m
                - share: 0.5
                  hold: 1h
                - promote
              gates:
                check_data: false
                prometheus:
                  url: http://prometheus.example:9090/
                  queries:
                    - name: new_errors
                      query: 'sum(rate(errors_total{group="{service}", topic="{topic}"}[5m]))'
                      max: 0.5
                    - name: routed_new
                      query: 'sum(canary_router_records_routed_total{context="{context}", version="new"})'
                      min: 1
            """;

    @TempDir
    Path dir;

    @Nested
    class The_plan {

        RolloutPlan plan(String gatesYaml) throws IOException {
            Path f = MinimalContext.write(dir, "fake", """
                    rollout:
                      steps:
                        - share: 0.1
                      gates:
                    """ + gatesYaml.indent(4));
            return RolloutPlan.of(Context.load(f, Map.of("PROM", "http://10.0.0.9:9090")::get), Map.of("PROM", "http://10.0.0.9:9090")::get);
        }

        String refused(String gatesYaml) {
            Context.ContextException e = assertThrows(Context.ContextException.class, () -> plan(gatesYaml));
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
            return e.getMessage().substring(e.getMessage().indexOf("ctx.yaml: ") + "ctx.yaml: ".length());
        }

        @Test
        void is_read_with_its_server_and_queries() throws IOException {
            RolloutPlan p = plan("""
                    prometheus:
                      url: ${PROM}
                      queries:
                        - {name: lag, query: 'max(kafka_consumergroup_lag{consumergroup="{service}"})', max: 1000}
                        - {name: rate, query: 'sum(rate(x[1m]))', min: 0.5, max: 10}
                    """);
            RolloutPlan.Prometheus prom = p.gates().prometheus();
            assertEquals("http://10.0.0.9:9090", prom.url());
            assertEquals(List.of(new MetricQuery("lag", "max(kafka_consumergroup_lag{consumergroup=\"{service}\"})", 1000.0, null),
                    new MetricQuery("rate", "sum(rate(x[1m]))", 10.0, 0.5)), prom.queries());
            assertTrue(p.describe().contains("  - prometheus rate: sum(rate(x[1m])) between 0.5 and 10 (at http://10.0.0.9:9090)"),
                    p.describe().toString());
        }

        @Test
        void without_prometheus_has_no_metric_gate() throws IOException {
            assertNull(plan("max_lag: 5").gates().prometheus());
        }

        @Test
        void refuses_each_mistake_in_one_line() {
            assertEquals("missing key 'rollout.gates.prometheus.url' (the Prometheus server, e.g. http://127.0.0.1:9090)",
                    refused("prometheus: {queries: [{name: a, query: up, max: 1}]}"));
            assertEquals("key 'rollout.gates.prometheus.url': expected the Prometheus server's http(s) URL, e.g. http://127.0.0.1:9090, got"
                    + " 'localhost:9090'", refused("prometheus: {url: 'localhost:9090', queries: [{name: a, query: up, max: 1}]}"));
            assertEquals("missing key 'rollout.gates.prometheus.queries' (a non-empty list of queries, each {name: ..., query: ..., max: N}"
                    + " (or min: N, or both))", refused("prometheus: {url: 'http://p:9090'}"));
            assertEquals("key 'rollout.gates.prometheus.queries': expected a non-empty list of queries, each {name: ..., query: ..., max: N}"
                    + " (or min: N, or both), got an empty list", refused("prometheus: {url: 'http://p:9090', queries: []}"));
            assertEquals("key 'rollout.gates.prometheus.queries[0]': expected max or min (the value must be at most max, at least min), got"
                    + " neither", refused("prometheus: {url: 'http://p:9090', queries: [{name: a, query: up}]}"));
            assertEquals("key 'rollout.gates.prometheus.queries[0].max': expected a number, e.g. 0.01 or 500, got 'lots'",
                    refused("prometheus: {url: 'http://p:9090', queries: [{name: a, query: up, max: lots}]}"));
            assertEquals("key 'rollout.gates.prometheus.queries[0].min': expected at most max (1), got 2",
                    refused("prometheus: {url: 'http://p:9090', queries: [{name: a, query: up, max: 1, min: 2}]}"));
            assertEquals("key 'rollout.gates.prometheus.queries[0].query': unknown placeholder {group} (expected {service}, {topic}, {context})",
                    refused("prometheus: {url: 'http://p:9090', queries: [{name: a, query: 'up{job=\"{group}\"}', max: 1}]}"));
            assertEquals("key 'rollout.gates.prometheus.queries[1].name': expected a name no other query of rollout.gates.prometheus has,"
                    + " got 'a'", refused("prometheus: {url: 'http://p:9090', queries: [{name: a, query: up, max: 1}, {name: a, query: up, min: 1}]}"));
            assertEquals("missing key 'rollout.gates.prometheus.queries[0].query' (a PromQL expression, e.g."
                    + " sum(rate(errors_total{group=\"{service}\"}[5m])))", refused("prometheus: {url: 'http://p:9090', queries: [{name: a, max: 1}]}"));
            assertEquals("unknown key 'rollout.gates.prometheus.queries[0].maximum' (expected one of: max, min, name, query)",
                    refused("prometheus: {url: 'http://p:9090', queries: [{name: a, query: up, maximum: 1}]}"));
        }

        @Test
        void fills_in_the_new_version_its_topic_and_the_context_name() {
            MetricQuery q = new MetricQuery("q", "sum(x{group=\"{service}\",topic=\"{topic}\",context=\"{context}\"}) / sum(y{group=\"{service}\"})",
                    1.0, null);
            assertEquals("sum(x{group=\"service_v2\",topic=\"orders_new\",context=\"orders-canary\"}) / sum(y{group=\"service_v2\"})",
                    q.resolve("service_v2", "orders_new", "orders-canary"));
        }

        @Test
        void judges_a_value_against_its_bounds() {
            MetricQuery both = new MetricQuery("q", "up", 10.0, 0.5);
            assertNull(both.violation(0.5));
            assertNull(both.violation(10));
            assertEquals("10.25 > 10", both.violation(10.25));
            assertEquals("0.1 < 0.5", both.violation(0.1));
        }
    }

    @Nested
    class The_answer_of_prometheus {

        @Test
        void is_the_value_of_one_series_or_a_scalar() {
            assertEquals(Rollout.MetricValue.of(42.5), PrometheusClient.parse(200, """
                    {"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"router"},"value":[1764030000.123,"42.5"]}]}}"""));
            assertEquals(Rollout.MetricValue.of(3), PrometheusClient.parse(200, """
                    {"status":"success","data":{"resultType":"scalar","result":[1764030000.123,"3"]}}"""));
            assertTrue(Double.isNaN(PrometheusClient.parse(200, """
                    {"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}""").value()));
            assertEquals(Double.POSITIVE_INFINITY, PrometheusClient.parse(200, """
                    {"status":"success","data":{"resultType":"scalar","result":[1,"+Inf"]}}""").value());
        }

        @Test
        void is_a_failure_with_a_reason_for_anything_else() {
            assertEquals("no series: the query matched nothing (no data yet, or a wrong name or label)", PrometheusClient.parse(200, """
                    {"status":"success","data":{"resultType":"vector","result":[]}}""").failure());
            assertEquals("2 series where one is expected ({\"partition\":\"0\"}, {\"partition\":\"1\"}): aggregate them, e.g. sum(...)",
                    PrometheusClient.parse(200, """
                            {"status":"success","data":{"resultType":"vector","result":[{"metric":{"partition":"0"},"value":[1,"1"]},
                            {"metric":{"partition":"1"},"value":[1,"2"]}]}}""").failure());
            assertEquals("Prometheus answered bad_data: invalid parameter \"query\": 1:5: parse error: unexpected <by>", PrometheusClient.parse(400, """
                    {"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:5: parse error: unexpected <by>"}""").failure());
            assertEquals("HTTP 502: <html>Bad Gateway</html>", PrometheusClient.parse(502, "<html>Bad Gateway</html>").failure());
            assertTrue(PrometheusClient.parse(200, """
                    {"status":"success","data":{"resultType":"matrix","result":[]}}""").failure().startsWith("a matrix result where a vector"));
            assertEquals("a sample value that is not a number: 'many'", PrometheusClient.parse(200, """
                    {"status":"success","data":{"resultType":"scalar","result":[1,"many"]}}""").failure());
        }

        @Test
        void from_a_server_that_does_not_listen_is_a_failure_naming_it() throws IOException {
            int port;
            try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
                port = s.getLocalPort();
            }
            Rollout.MetricValue v = new PrometheusClient().query("http://127.0.0.1:" + port, "up", Duration.ofSeconds(5));
            assertEquals("cannot reach Prometheus at http://127.0.0.1:" + port + " (connection refused)", v.failure());
        }
    }

    @Nested
    class A_rollout_run {

        final List<String> asked = new ArrayList<>();
        Map<String, Rollout.MetricValue> answers = Map.of();

        World world() throws Exception {
            return new World(dir, PLAN, UnaryOperator.identity());
        }

        Rollout rollout(World w) {
            return new Rollout(w.ctx, w.cluster, w.store, w.lifecycle, RolloutPlan.of(w.ctx, Map.<String, String>of()::get), w.clock,
                    (argv, d, t) -> new Rollout.ProbeResult(0, "ok"), (url, query, t) -> {
                        asked.add(url + " " + query);
                        return answers.entrySet().stream().filter(e -> query.contains(e.getKey())).map(Map.Entry::getValue).findFirst()
                                .orElse(Rollout.MetricValue.failed("no answer in the test"));
                    }, w.out, Duration.ofSeconds(5));
        }

        String afterHold(World w, int exit) {
            assertEquals(0, rollout(w).run(false));
            w.clock.advance(Duration.ofMinutes(31));
            w.takeOutput();
            assertEquals(exit, rollout(w).run(false), () -> w.output.toString());
            return w.takeOutput();
        }

        @Test
        void advances_when_every_query_is_within_its_bounds_and_asks_them_with_placeholders_filled_in() throws Exception {
            World w = world();
            answers = Map.of("errors_total", Rollout.MetricValue.of(0.2), "canary_router_records_routed_total", Rollout.MetricValue.of(120));
            String out = afterHold(w, 0);
            assertTrue(out.contains("advancing to 50 % (step 2 of 3, hold 1h) after 31m at 10 %; gates passed: routing, prometheus:new_errors,"
                    + " prometheus:routed_new"), out);
            assertEquals(List.of("http://prometheus.example:9090/ sum(rate(errors_total{group=\"service_v2\", topic=\"orders_new\"}[5m]))",
                    "http://prometheus.example:9090/ sum(canary_router_records_routed_total{context=\"fake\", version=\"new\"})"), asked);
            assertEquals(0.5, w.store.state.share());
        }

        @Test
        void holds_on_a_value_above_max_with_the_query_and_the_value_in_one_line() throws Exception {
            World w = world();
            answers = Map.of("errors_total", Rollout.MetricValue.of(0.7), "canary_router_records_routed_total", Rollout.MetricValue.of(120));
            String out = afterHold(w, Rollout.GATE_FAILED);
            assertTrue(out.contains("gate failed: prometheus new_errors (sum(rate(errors_total{group=\"service_v2\", topic=\"orders_new\"}[5m])))"
                    + ": 0.7 > 0.5; holding at 10 % (step 1 of 3) (on_failure hold)"), out);
            assertEquals(0.1, w.store.state.share());
            assertEquals("prometheus:new_errors", w.store.state.lastGate().gate());
        }

        @Test
        void holds_on_a_value_below_min() throws Exception {
            World w = world();
            answers = Map.of("errors_total", Rollout.MetricValue.of(0), "canary_router_records_routed_total", Rollout.MetricValue.of(0));
            String out = afterHold(w, Rollout.GATE_FAILED);
            assertTrue(out.contains(": 0 < 1; holding at 10 %"), out);
        }

        @Test
        void holds_on_a_failed_query_and_on_nan_never_passing_them() throws Exception {
            World w = world();
            answers = Map.of("errors_total", Rollout.MetricValue.failed("cannot reach Prometheus at http://prometheus.example:9090/ (connection refused)"));
            String out = afterHold(w, Rollout.GATE_FAILED);
            assertTrue(out.contains("gate failed: prometheus new_errors (sum(rate(errors_total{group=\"service_v2\", topic=\"orders_new\"}[5m])))"
                    + ": cannot reach Prometheus at http://prometheus.example:9090/ (connection refused); holding at 10 %"), out);

            answers = Map.of("errors_total", Rollout.MetricValue.of(Double.NaN));
            w.takeOutput();
            assertEquals(Rollout.GATE_FAILED, rollout(w).run(false));
            String nan = w.takeOutput();
            assertTrue(nan.contains("[5m]))): the query gave NaN, not a number; holding at 10 %"), nan);
            assertEquals(0.1, w.store.state.share());
        }
    }
}
