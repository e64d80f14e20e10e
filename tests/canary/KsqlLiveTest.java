package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.CheckDataCommand;
import canary.cli.MigrationCommand;
import canary.cli.PromoteCommand;
import canary.cli.UpdateRateCommand;
import canary.common.Waits;
import canary.context.Context;
import canary.engine.ksqldb.KsqlClient;
import canary.engine.ksqldb.KsqlEngine;
import canary.engine.ksqldb.KsqlStatements;
import canary.kafka.KafkaCluster;
import canary.kafka.KafkaStateStore;
import canary.platform.Processes;
import canary.release.Lag;
import canary.release.MigrationState;
import canary.release.Operator;

/**
 * The lifecycle (migration, update to 0.5, check_data, promote) against a real ksqlDB server and its
 * Kafka cluster. Runs only when {@code KSQLDB_ENDPOINT} is set, with {@code KSQLDB_API_KEY} /
 * {@code KSQLDB_API_SECRET} when the server needs them, and the Kafka cluster the server uses in
 * {@code KSQLDB_KAFKA_BOOTSTRAP} (plain) or {@code KSQLDB_KAFKA_PROPERTIES} (a client properties
 * file). The server needs Schema Registry: the test topic is written as JSON_SR through ksqlDB.
 * Besides the lifecycle it checks on the real server: DESCRIBE FUNCTION (the MD5 gate), the commit interval of SHOW
 * PROPERTIES (the hand-over wait), the rating query running after a drained replace, the versions' columns, and each
 * query's exactly-once setting.
 */
class KsqlLiveTest {

    @TempDir
    Path dir;

    @Test
    void the_lifecycle_runs_on_a_real_ksqldb() throws Exception {
        String endpoint = System.getenv("KSQLDB_ENDPOINT");
        Assumptions.assumeTrue(endpoint != null && !endpoint.isBlank(), "KSQLDB_ENDPOINT not set: live ksqlDB test skipped");
        String bootstrap = System.getenv("KSQLDB_KAFKA_BOOTSTRAP");
        String propertiesFile = System.getenv("KSQLDB_KAFKA_PROPERTIES");
        Assumptions.assumeTrue(bootstrap != null || propertiesFile != null,
                "KSQLDB_KAFKA_BOOTSTRAP or KSQLDB_KAFKA_PROPERTIES not set: live ksqlDB test skipped");
        boolean auth = System.getenv("KSQLDB_API_KEY") != null;

        String topic = TestBroker.unique("canary_live").replace('-', '_');
        String service = Kit.javaCommandYaml("canary.demo.DummyService", "{context}", "{service}", "{topic}");
        Path ctxFile = dir.resolve("live.yaml");
        Files.writeString(ctxFile, "name: " + topic + "\n"
                + "topic: " + topic + "\npartitions: 3\n"
                + "key_type: STRING\nkey_format: KAFKA\nvalue_format: JSON_SR\n"
                + "engine: ksqldb\nplatform: existing\nstate_dir: state\n"
                + "kafka:\n" + (bootstrap != null ? "  bootstrap_servers: " + bootstrap + "\n" : "")
                + (propertiesFile != null ? "  properties_file: " + Path.of(propertiesFile).toAbsolutePath() + "\n" : "")
                + "ksqldb:\n  endpoint: ${KSQLDB_ENDPOINT}\n"
                + (auth ? "  api_key: ${KSQLDB_API_KEY}\n  api_secret: ${KSQLDB_API_SECRET}\n" : "")
                + "legacy:\n  group: " + topic + "_v1\n  run: " + service + "\n"
                + "new:\n  group: " + topic + "_v2\n  run: " + service + "\n");
        Context ctx = Context.load(ctxFile);
        KsqlClient ksql = KsqlEngine.client(ctx);
        KsqlStatements.Names names = KsqlStatements.Names.of(topic);
        String seed = names.prefix() + "_SEED";

        try (KafkaCluster cluster = KafkaCluster.connect(ctx.kafka().clientProperties())) {
            try {
                cluster.createTopic(topic, 3, Map.of());
                // producers stand-in: ksqlDB writes JSON_SR records (and registers their schema)
                ksql.execute("CREATE STREAM " + seed + " (K STRING KEY, N INT) WITH (KAFKA_TOPIC='" + topic
                        + "', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON_SR');");
                insert(ksql, seed, "K", 0, 60);
                Waits.until("the seed records are in " + topic, Duration.ofMinutes(1), Waits.quiet(),
                        () -> Lag.total(cluster.endOffsets(topic)) >= 60);
                ksql.execute("DROP STREAM " + seed + ";");
                // the legacy version processed about half of each partition
                Map<Integer, Long> half = new HashMap<>();
                cluster.endOffsets(topic).forEach((p, end) -> half.put(p, end / 2));
                KsqlEngineTest.commit(ctx.kafka().clientProperties(), ctx.legacy().group(), topic, half);

                Kit.run(new MigrationCommand(), ctxFile.toString(), "0.1", "--timeout", "5m").ok();
                MigrationState s = state(ctx);
                assertEquals(MigrationState.Phase.ROUTING, s.phase());
                assertEquals(new java.util.TreeMap<>(half), new java.util.TreeMap<>(s.startOffsets()));
                assertTrue(s.queryIds().containsKey("rating.group"), s.queryIds().toString());
                // 5: each query runs with its own exactly-once setting
                for (String role : List.of("rating", "legacy", "new")) {
                    String id = s.queryIds().get(role);
                    KsqlClient.KsqlQuery q = ksql.showQueriesExtended().stream().filter(x -> x.queryId().equals(id)).findFirst().orElseThrow();
                    assertTrue(q.processingGuarantee().orElse("").startsWith("exactly_once"), role + ": " + q.overriddenProperties());
                }
                // 4: the versions' streams carry the producers' columns only
                assertEquals(List.of("N"), ksql.valueColumns(names.newStream()));
                assertEquals(List.of("N"), ksql.valueColumns(names.legacyStream()));
                // 1: DESCRIBE FUNCTION tells a function the server has from one it lacks
                assertTrue(ksql.hasFunction("RANDOM"));
                assertFalse(ksql.hasFunction("CANARY_NO_SUCH_FUNCTION"));
                // 2: the commit interval the hand-over waits for comes from the server
                assertTrue(KsqlClient.commitInterval(ksql.showProperties()).toMillis() > 0);

                insert(ksql, names.sourceStream(), KsqlEngine.KEY_COLUMN, 100, 40);
                Kit.run(new UpdateRateCommand(), ctxFile.toString(), "0.5", "--drain", "--timeout", "5m").ok();
                // 3: the replace restarted the paused rating query, and the state said the new share first
                MigrationState updated = state(ctx);
                assertEquals(0.5, updated.share());
                assertTrue(updated.routerRunning());
                String rating = updated.queryIds().get("rating");
                assertTrue(ksql.showQueriesExtended().stream().anyMatch(q -> q.queryId().equals(rating) && q.running()), rating);
                insert(ksql, names.sourceStream(), KsqlEngine.KEY_COLUMN, 200, 40);

                Kit.Run check = Kit.run(new CheckDataCommand(), ctxFile.toString(), "--timeout", "5m").ok();
                assertFalse(check.out().isBlank());

                Kit.run(new PromoteCommand(), ctxFile.toString(), "--timeout", "5m").ok();
                MigrationState promoted = state(ctx);
                assertEquals(MigrationState.Phase.PROMOTED, promoted.phase());
                Map<Integer, Long> handover = promoted.handover().offsets();
                Map<Integer, Long> newGroup = cluster.committedOffsets(ctx.newVersion().group(), topic);
                handover.forEach((p, o) -> assertTrue(newGroup.getOrDefault(p, -1L) >= o, "partition " + p));
                List<String> left = new ArrayList<>();
                for (var entity : ksql.execute("SHOW STREAMS;")) {
                    entity.path("streams").forEach(st -> left.add(st.path("name").asText()));
                }
                assertFalse(left.contains(names.ratedStream()) || left.contains(names.sourceStream()), left.toString());
            } finally {
                Processes processes = new Processes(ctx.stateDir());
                for (String name : processes.running()) {
                    processes.stop(name, Duration.ofSeconds(20));
                }
                for (String drop : KsqlStatements.dropAll(names)) {
                    try {
                        ksql.execute(drop);
                    } catch (RuntimeException ignored) {
                        // best effort
                    }
                }
                try {
                    ksql.execute("DROP STREAM IF EXISTS " + seed + ";");
                } catch (RuntimeException ignored) {
                    // best effort
                }
                cluster.deleteTopics(List.of(topic, ctx.ratedTopic(), ctx.legacyTopic(), ctx.newTopic(), ctx.stateTopic()));
            }
        }
    }

    private static void insert(KsqlClient ksql, String stream, String keyColumn, int from, int n) {
        StringBuilder sql = new StringBuilder();
        for (int i = from; i < from + n; i++) {
            sql.append("INSERT INTO ").append(stream).append(" (").append(keyColumn).append(", N) VALUES ('key-").append(i % 17)
                    .append("', ").append(i).append(");\n");
        }
        ksql.execute(sql.toString());
    }

    private static MigrationState state(Context ctx) {
        try (KafkaStateStore s = KafkaStateStore.of(ctx, ctx.kafka().clientProperties(), new Operator("test", "test-host", "live-test"), java.time.Clock.systemUTC())) {
            return s.read().orElseThrow();
        }
    }

}
