package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.KsqlFixtures.Query;
import canary.cli.Cli;
import canary.common.UserException;
import canary.context.Context;
import canary.context.Routing;
import canary.context.Rule;
import canary.engine.ksqldb.KsqlClient;
import canary.engine.ksqldb.KsqlEngine;
import canary.engine.ksqldb.KsqlException;
import canary.engine.ksqldb.KsqlStatements;
import canary.kafka.KafkaCluster;
import canary.platform.broker.LocalBroker;
import canary.release.Integrity;
import canary.release.MigrationState;

/**
 * Contract tests of {@link KsqlEngine}: against a server replaying ksqlDB's documented answers (it
 * records every request), the exact statements of each lifecycle step, the auth header, the
 * sequence numbers passed back and one line for each error shape. The Kafka side (filter groups,
 * the rating group's committed offsets) runs on the real test broker.
 */
class KsqlEngineTest {

    static final String KEY = "ENGINEKEY";
    static final String SECRET = "engine-secret";
    static final String AUTH = "Basic " + Base64.getEncoder().encodeToString((KEY + ":" + SECRET).getBytes(StandardCharsets.UTF_8));

    static KafkaCluster cluster;

    @TempDir
    Path dir;

    KsqlReplayServer server;
    KsqlClient client;
    final List<String> progress = new ArrayList<>();

    @BeforeAll
    static void connect() {
        cluster = KafkaCluster.connect(TestBroker.clientProperties());
    }

    @AfterAll
    static void disconnect() {
        cluster.close();
    }

    @BeforeEach
    void start() {
        server = new KsqlReplayServer();
        client = new KsqlClient(server.endpoint(), KEY, SECRET, null, Duration.ofSeconds(5),
                new KsqlClient.RetryPolicy(2, Duration.ofMillis(10), Duration.ofMillis(10)), d -> { });
    }

    @AfterEach
    void stop() {
        server.close();
    }

    // ------------------------------------------------------------------ helpers

    /** A context for engine ksqldb on the test broker, pointing at the replay server. */
    static Context context(Path dir, String topic, String endpoint, String extraYaml) {
        String yaml = "name: " + topic + "\n"
                + "topic: " + topic + "\n"
                + (extraYaml.contains("key_type:") ? "" : "key_type: STRING\n") + "key_format: KAFKA\n"
                + (extraYaml.contains("value_format:") ? "" : "value_format: JSON_SR\n")
                + "engine: ksqldb\nplatform: existing\nstate_dir: state\n"
                + "kafka:\n  bootstrap_servers: " + TestBroker.bootstrapServers() + "\n"
                + "ksqldb:\n  endpoint: " + endpoint + "\n"
                + "legacy:\n  group: " + topic + "-v1\n  run: [\"true\"]\n"
                + "new:\n  group: " + topic + "-v2\n  run: [\"true\"]\n"
                + extraYaml;
        try {
            Path f = dir.resolve(topic + ".yaml");
            Files.writeString(f, yaml);
            return Context.load(f, Map.<String, String>of()::get);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    Context context(String topic, String extraYaml) {
        return context(dir, topic, server.endpoint().toString(), extraYaml);
    }

    KsqlEngine engine(Context ctx) {
        return new KsqlEngine(ctx, cluster, client, progress::add,
                Duration.ofMillis(200), Duration.ofSeconds(20));
    }

    static String ratingId(KsqlStatements.Names n) {
        return "CSAS_" + n.ratedStream() + "_11";
    }

    static String legacyId(KsqlStatements.Names n) {
        return "CSAS_" + n.legacyStream() + "_13";
    }

    static String newId(KsqlStatements.Names n) {
        return "CSAS_" + n.newStream() + "_15";
    }

    static String group(String queryId) {
        return "_confluent-ksql-pksqlc-abcdequery_" + queryId;
    }

    /** SHOW QUERIES EXTENDED with the rating query in the given status on two servers, the filters running. */
    static String queries(KsqlStatements.Names n, String ratingStatus1, String ratingStatus2) {
        return KsqlFixtures.queriesExtended(
                new Query(ratingId(n), n.ratedStream(), n.sourceStream(), group(ratingId(n)), ratingStatus1, ratingStatus2),
                new Query(legacyId(n), n.legacyStream(), n.ratedStream(), group(legacyId(n)), "RUNNING", "RUNNING"),
                new Query(newId(n), n.newStream(), n.ratedStream(), group(newId(n)), "RUNNING", "RUNNING"));
    }

    static Map<String, String> ids(KsqlStatements.Names n) {
        Map<String, String> ids = new TreeMap<>();
        ids.put("rating", ratingId(n));
        ids.put("legacy", legacyId(n));
        ids.put("new", newId(n));
        ids.put("rating.group", group(ratingId(n)));
        ids.put("legacy.group", group(legacyId(n)));
        ids.put("new.group", group(newId(n)));
        return ids;
    }

    static MigrationState routing(Context ctx, Map<Integer, Long> start, double share, String routing) {
        return MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.parse(routing), share, start)
                .withQueryIds(ids(KsqlStatements.Names.of(ctx.topic())));
    }

    /** The routing a migration plans, as the lifecycle hands it to preflight. */
    static MigrationState planned(Context ctx) {
        return MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, ctx.routing(), 0.1, Map.of(0, 0L, 1, 0L, 2, 0L));
    }

    static String info(String version) {
        return KsqlFixtures.info(version);
    }

    /** The answers to preflight's probe of the value columns: CREATE, DESCRIBE, DROP of {@code <TOPIC>_CANARY_PROBE}. */
    void scriptProbe(String topic, String... valueColumns) {
        String probe = KsqlStatements.Names.of(topic).probeStream();
        server.ksql(KsqlFixtures.commandStatus("CREATE STREAM " + probe + " ...;", 1))
                .ksql(KsqlFixtures.sourceDescription(probe, topic, valueColumns))
                .ksql(KsqlFixtures.commandStatus("DROP STREAM IF EXISTS " + probe + ";", 2));
    }

    static List<String> probeStatements(String topic) {
        String probe = KsqlStatements.Names.of(topic).probeStream();
        return List.of("CREATE STREAM " + probe + " WITH (KAFKA_TOPIC='" + topic + "', KEY_FORMAT='NONE', VALUE_FORMAT='JSON_SR');",
                "DESCRIBE " + probe + ";", "DROP STREAM IF EXISTS " + probe + ";");
    }

    /** The ksql text of every /ksql request, in order. */
    List<String> statements() {
        return server.requests().stream().filter(r -> r.path().equals("/ksql")).map(KsqlReplayServer.Recorded::ksql).toList();
    }

    List<String> paths() {
        return server.requests().stream().map(r -> r.method() + " " + r.path()).toList();
    }

    void assertAuthOnEveryRequest() {
        assertFalse(server.requests().isEmpty());
        server.requests().forEach(r -> assertEquals(AUTH, r.header("Authorization"), r.method() + " " + r.path()));
    }

    /** The answers of a pause: status, version check, PAUSE, status again (now paused). */
    void scriptPause(KsqlStatements.Names n, long sequence) {
        server.ksql(queries(n, "RUNNING", "RUNNING"))
                .reply("GET", "/info", 200, info("0.29.0"))
                .ksql(KsqlFixtures.commandStatus("PAUSE " + ratingId(n) + ";", sequence))
                .ksql(queries(n, "PAUSED", "PAUSED"));
    }

    void scriptResume(KsqlStatements.Names n, long sequence) {
        server.ksql(queries(n, "PAUSED", "PAUSED"))
                .reply("GET", "/info", 200, info("0.29.0"))
                .ksql(KsqlFixtures.commandStatus("RESUME " + ratingId(n) + ";", sequence))
                .ksql(queries(n, "RUNNING", "RUNNING"));
    }

    static List<String> pauseStatements(KsqlStatements.Names n) {
        return List.of("SHOW QUERIES EXTENDED;", "PAUSE " + ratingId(n) + ";", "SHOW QUERIES EXTENDED;");
    }

    static List<String> resumeStatements(KsqlStatements.Names n) {
        return List.of("SHOW QUERIES EXTENDED;", "RESUME " + ratingId(n) + ";", "SHOW QUERIES EXTENDED;");
    }

    static List<String> drops(KsqlStatements.Names n) {
        return List.of(
                "DROP STREAM IF EXISTS " + n.newStream() + " DELETE TOPIC;",
                "DROP STREAM IF EXISTS " + n.legacyStream() + " DELETE TOPIC;",
                "DROP STREAM IF EXISTS " + n.ratedStream() + " DELETE TOPIC;",
                "DROP STREAM IF EXISTS " + n.sourceStream() + ";");
    }

    /** A topic and its derived topics on the test broker, all with {@code partitions} partitions. */
    static String topics(int partitions) {
        String topic = TestBroker.unique("korders");
        for (String t : List.of(topic, topic + "_rated", topic + "_legacy", topic + "_new")) {
            cluster.createTopic(t, partitions, Map.of());
        }
        return topic;
    }

    static void produce(String topic, int partition, int n) {
        Properties p = TestBroker.clientProperties();
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < n; i++) {
                producer.send(new ProducerRecord<>(topic, partition, ("k" + i).getBytes(StandardCharsets.UTF_8),
                        ("{\"id\":\"" + topic + "-" + partition + "-" + i + "\"}").getBytes(StandardCharsets.UTF_8)));
            }
            producer.flush();
        }
    }

    /** Commits offsets for a group through a consumer of that group, as a service or a query would. */
    static void commit(String group, String topic, Map<Integer, Long> offsets) {
        commit(TestBroker.clientProperties(), group, topic, offsets);
    }

    static void commit(Properties client, String group, String topic, Map<Integer, Long> offsets) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
            offsets.forEach((part, o) -> commit.put(new TopicPartition(topic, part), new OffsetAndMetadata(o)));
            c.assign(commit.keySet());
            c.commitSync(commit);
        }
    }

    // ------------------------------------------------------------------ golden statements

    @Nested
    @DisplayName("the statements of each step, for topic orders")
    class Golden {

        static final String SOURCE = "CREATE STREAM ORDERS_CANARY_SOURCE (CANARY_KEY STRING KEY) "
                + "WITH (KAFKA_TOPIC='orders', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON_SR');";
        static final String CRITERIA = "(ROWPARTITION = 0 AND ROWOFFSET >= 42) OR (ROWPARTITION = 1 AND ROWOFFSET >= 0) "
                + "OR (ROWPARTITION = 2 AND ROWOFFSET >= 7)";
        static final String RATED = "CREATE STREAM ORDERS_RATED WITH (KAFKA_TOPIC='orders_rated', PARTITIONS=3) "
                + "AS SELECT *, RANDOM() < 0.1 AS FOR_NEW FROM ORDERS_CANARY_SOURCE WHERE " + CRITERIA + " EMIT CHANGES;";
        static final String LEGACY = "CREATE STREAM ORDERS_LEGACY WITH (KAFKA_TOPIC='orders_legacy', PARTITIONS=3) "
                + "AS SELECT `CANARY_KEY`, `id`, `amount` FROM ORDERS_RATED WHERE FOR_NEW = false EMIT CHANGES;";
        static final String NEW = "CREATE STREAM ORDERS_NEW WITH (KAFKA_TOPIC='orders_new', PARTITIONS=3) "
                + "AS SELECT `CANARY_KEY`, `id`, `amount` FROM ORDERS_RATED WHERE FOR_NEW = true EMIT CHANGES;";
        static final String DESCRIBE = "DESCRIBE ORDERS_CANARY_SOURCE;";
        static final String REPLACED = "CREATE OR REPLACE STREAM ORDERS_RATED WITH (KAFKA_TOPIC='orders_rated', PARTITIONS=3) "
                + "AS SELECT *, RANDOM() < 0.5 AS FOR_NEW FROM ORDERS_CANARY_SOURCE WHERE " + CRITERIA + " EMIT CHANGES;";

        final Map<Integer, Long> start = Map.of(0, 42L, 1, 0L, 2, 7L);
        final KsqlStatements.Names n = KsqlStatements.Names.of("orders");

        @Test
        void migration_creates_source_rating_and_filter_streams_and_keeps_the_query_ids_of_show_queries_extended() {
            Context ctx = context("orders", "");
            server.ksql(KsqlFixtures.streams())
                    .ksql(KsqlFixtures.commandStatus(SOURCE, 20))
                    .ksql(KsqlFixtures.commandStatus(RATED, "stream/ORDERS_RATED/create", 21, ratingId(n)))
                    .ksql(KsqlFixtures.describeSource("ORDERS_CANARY_SOURCE", "orders", "id", "amount"))
                    .ksql(KsqlFixtures.commandStatus(LEGACY, "stream/ORDERS_LEGACY/create", 22, legacyId(n)))
                    .ksql(KsqlFixtures.commandStatus(NEW, "stream/ORDERS_NEW/create", 23, newId(n)))
                    .ksql(queries(n, "RUNNING", "RUNNING"));

            Map<String, String> ids = engine(ctx).create(MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start),
                    start, Duration.ofSeconds(10));

            assertEquals(List.of("SHOW STREAMS;", SOURCE, RATED, DESCRIBE, LEGACY, NEW, "SHOW QUERIES EXTENDED;"), statements(),
                    "the versions get the key and the producers' value columns, never FOR_NEW");
            assertEquals(ids(n), new TreeMap<>(ids), "ids and consumer groups as SHOW QUERIES EXTENDED reports them");
            List<KsqlReplayServer.Recorded> r = server.requests();
            assertFalse(r.get(0).json().has("commandSequenceNumber"), "nothing to wait for before the first command");
            assertFalse(r.get(1).json().has("commandSequenceNumber"));
            assertEquals(20, r.get(2).json().path("commandSequenceNumber").asLong());
            assertEquals(21, r.get(3).json().path("commandSequenceNumber").asLong());
            for (int i = 4; i < r.size(); i++) {
                assertEquals(17 + i, r.get(i).json().path("commandSequenceNumber").asLong(), "request " + i + " waits for the one before");
            }
            assertTrue(progress.stream().anyMatch(l -> l.startsWith("warning: ksqldb.value_schema_id is not set: ksqlDB registers a value"
                    + " schema of its own")), progress.toString());
            for (int i : new int[] {1, 2, 4, 5}) {
                assertEquals("earliest", r.get(i).json().path("streamsProperties").path("ksql.streams.auto.offset.reset").asText(),
                        "the ROWOFFSET criteria, not the reset policy, decide where routing starts");
                assertEquals("exactly_once_v2", r.get(i).json().path("streamsProperties").path("processing.guarantee").asText(),
                        "each query asks for exactly-once itself");
            }
            assertTrue(progress.contains("each query runs with processing.guarantee exactly_once_v2"), progress.toString());
            assertAuthOnEveryRequest();
        }

        @Test
        void with_the_producers_schema_id_the_filter_queries_write_with_it() {
            Context ctx = context(dir, "orders", server.endpoint() + "\n  value_schema_id: 42", "");
            server.ksql(KsqlFixtures.streams("ORDERS_CANARY_SOURCE", "ORDERS_RATED"))
                    .ksql(KsqlFixtures.describeSource("ORDERS_CANARY_SOURCE", "orders", "id", "amount"))
                    .ksql(KsqlFixtures.commandStatus("legacy", 30))
                    .ksql(KsqlFixtures.commandStatus("new", 31))
                    .ksql(queries(n, "RUNNING", "RUNNING"));

            engine(ctx).create(MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start), start, Duration.ofSeconds(10));

            assertEquals(List.of("SHOW STREAMS;", DESCRIBE, LEGACY.replace("PARTITIONS=3)", "PARTITIONS=3, VALUE_SCHEMA_ID=42)"),
                    NEW.replace("PARTITIONS=3)", "PARTITIONS=3, VALUE_SCHEMA_ID=42)"), "SHOW QUERIES EXTENDED;"), statements());
            assertFalse(progress.stream().anyMatch(l -> l.contains("value_schema_id is not set")), progress.toString());
        }

        @Test
        void migration_run_again_creates_only_what_is_missing() {
            Context ctx = context("orders", "");
            server.ksql(KsqlFixtures.streams("ORDERS_CANARY_SOURCE", "ORDERS_RATED"))
                    .ksql(KsqlFixtures.describeSource("ORDERS_CANARY_SOURCE", "orders", "id", "amount"))
                    .ksql(KsqlFixtures.commandStatus(LEGACY, 30))
                    .ksql(KsqlFixtures.commandStatus(NEW, 31))
                    .ksql(queries(n, "RUNNING", "RUNNING"));

            engine(ctx).create(MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start), start, Duration.ofSeconds(10));

            assertEquals(List.of("SHOW STREAMS;", DESCRIBE, LEGACY, NEW, "SHOW QUERIES EXTENDED;"), statements());
        }

        @Test
        void update_replaces_the_rating_query_with_the_new_share_and_the_same_start_criteria() {
            Context ctx = context("orders", "");
            server.ksql(KsqlFixtures.commandStatus(REPLACED, 40));

            engine(ctx).applyRouting(routing(ctx, start, 0.5, "random"));

            assertEquals(List.of(REPLACED), statements());
            assertEquals("earliest", server.last().json().path("streamsProperties").path("ksql.streams.auto.offset.reset").asText());
            assertEquals("exactly_once_v2", server.last().json().path("streamsProperties").path("processing.guarantee").asText());
            assertAuthOnEveryRequest();
        }

        @Test
        void key_hash_routing_hashes_the_key_column_and_falls_back_to_random_for_a_null_key() {
            Context ctx = context("orders", "routing: key-hash\n");
            server.ksql(KsqlFixtures.commandStatus("replace", 41));

            engine(ctx).applyRouting(routing(ctx, start, 0.25, "key-hash"));

            String sql = statements().get(0);
            assertTrue(sql.contains("AS SELECT *, CASE WHEN CANARY_KEY IS NULL THEN RANDOM() < 0.25 ELSE "
                    + KsqlStatements.bucket("CANARY_KEY") + " < 2500 END AS FOR_NEW"), sql);
            assertTrue(sql.contains(CRITERIA), sql);
        }

        @Test
        void with_rules_the_source_stream_declares_a_header_column_and_the_rating_query_decides_by_the_rules_first() {
            Context ctx = context("orders", "");
            String source = "CREATE STREAM ORDERS_CANARY_SOURCE (CANARY_KEY STRING KEY, CANARY_HEADER_1 BYTES HEADER('tenant')) "
                    + "WITH (KAFKA_TOPIC='orders', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON_SR');";
            String rated = "CREATE STREAM ORDERS_RATED WITH (KAFKA_TOPIC='orders_rated', PARTITIONS=3) AS SELECT *, "
                    + "CASE WHEN (SUBSTRING(CANARY_KEY, 1, 4) = 'vip-') THEN false "
                    + "WHEN (FROM_BYTES(CANARY_HEADER_1, 'utf8') IN ('beta', 'o''brien')) THEN true ELSE RANDOM() < 0 END AS FOR_NEW "
                    + "FROM ORDERS_CANARY_SOURCE WHERE " + CRITERIA + " EMIT CHANGES;";
            server.ksql(KsqlFixtures.streams())
                    .ksql(KsqlFixtures.commandStatus(source, 20))
                    .ksql(KsqlFixtures.commandStatus(rated, "stream/ORDERS_RATED/create", 21, ratingId(n)))
                    .ksql(KsqlFixtures.describeSource("ORDERS_CANARY_SOURCE", "orders", "id", "amount"))
                    .ksql(KsqlFixtures.commandStatus(LEGACY, "stream/ORDERS_LEGACY/create", 22, legacyId(n)))
                    .ksql(KsqlFixtures.commandStatus(NEW, "stream/ORDERS_NEW/create", 23, newId(n)))
                    .ksql(queries(n, "RUNNING", "RUNNING"));
            MigrationState s = MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.0, start)
                    .withRoute(0.0, Rule.parseAll(List.of("header:tenant=beta,o'brien", "legacy:key-prefix:vip-")), null);

            Map<String, String> ids = engine(ctx).create(s, start, Duration.ofSeconds(10));

            assertEquals(List.of("SHOW STREAMS;", source, rated, DESCRIBE, LEGACY, NEW, "SHOW QUERIES EXTENDED;"), statements(),
                    "the header column stays in the rating stream: the versions get the producers' columns");
            assertEquals("CANARY_HEADER_1", ids.get("header.tenant"), "the state keeps which column holds which header");

            // At runtime: a share and the same header with another value replace the rating query; its header column stays.
            server.ksql(KsqlFixtures.commandStatus("replace", 24));
            MigrationState routing = s.withQueryIds(ids).withRoute(0.25, Rule.parseAll(List.of("header:tenant=gamma")), null);
            engine(ctx).checkRouting(s.withQueryIds(ids), routing);
            engine(ctx).applyRouting(routing);
            assertEquals("CREATE OR REPLACE STREAM ORDERS_RATED WITH (KAFKA_TOPIC='orders_rated', PARTITIONS=3) AS SELECT *, "
                    + "CASE WHEN (FROM_BYTES(CANARY_HEADER_1, 'utf8') IN ('gamma')) THEN true ELSE RANDOM() < 0.25 END AS FOR_NEW "
                    + "FROM ORDERS_CANARY_SOURCE WHERE " + CRITERIA + " EMIT CHANGES;", statements().get(7));
        }

        @Test
        void routing_partitions_becomes_a_rowpartition_condition_and_raising_the_share_adds_partitions() {
            Context ctx = context("orders", "routing: partitions\n");
            server.ksql(KsqlFixtures.commandStatus("replace", 42)).ksql(KsqlFixtures.commandStatus("replace", 43));
            MigrationState one = MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.PARTITIONS, 0.34, start)
                    .withQueryIds(ids(n));
            assertEquals(List.of(0, 1), one.newPartitions());

            engine(ctx).applyRouting(one);
            engine(ctx).applyRouting(one.withRoute(1.0, List.of(), List.of(0, 1, 2)));

            assertEquals("CREATE OR REPLACE STREAM ORDERS_RATED WITH (KAFKA_TOPIC='orders_rated', PARTITIONS=3) AS SELECT *, "
                    + "ROWPARTITION IN (0, 1) AS FOR_NEW FROM ORDERS_CANARY_SOURCE WHERE " + CRITERIA + " EMIT CHANGES;", statements().get(0));
            assertTrue(statements().get(1).contains("AS SELECT *, ROWPARTITION IN (0, 1, 2) AS FOR_NEW FROM"), statements().get(1));
        }

        @Test
        void teardown_drops_the_derived_streams_with_their_topics_and_the_source_stream_without() {
            Context ctx = context("orders", "");
            for (int i = 0; i < 4; i++) {
                server.ksql(KsqlFixtures.commandStatus("drop", 50 + i));
            }

            engine(ctx).remove(routing(ctx, start, 0.1, "random"), Duration.ofSeconds(10));

            assertEquals(drops(n), statements());
            assertEquals(List.of(
                    "DROP STREAM IF EXISTS ORDERS_NEW DELETE TOPIC;",
                    "DROP STREAM IF EXISTS ORDERS_LEGACY DELETE TOPIC;",
                    "DROP STREAM IF EXISTS ORDERS_RATED DELETE TOPIC;",
                    "DROP STREAM IF EXISTS ORDERS_CANARY_SOURCE;"), statements(), "the original topic is never deleted");
            assertAuthOnEveryRequest();
        }
    }

    // ------------------------------------------------------------------ start offsets from a real group

    /** The answers to a whole migration of {@code topic} that creates every stream (command sequences from {@code sequence}). */
    void scriptCreate(KsqlStatements.Names n, String topic, long sequence) {
        server.ksql(KsqlFixtures.streams());
        for (int i = 0; i < 4; i++) {
            server.ksql(KsqlFixtures.commandStatus("create", sequence + i));
            if (i == 1) {
                server.ksql(KsqlFixtures.describeSource(n.sourceStream(), topic, "id"));
            }
        }
        server.ksql(queries(n, "RUNNING", "RUNNING"));
    }

    @Test
    void the_start_criteria_are_built_from_real_committed_offsets_of_the_legacy_group_with_greater_or_equal() {
        String topic = topics(3);
        produce(topic, 0, 10);
        produce(topic, 1, 4);
        produce(topic, 2, 6);
        String legacyGroup = topic + "-v1";
        commit(legacyGroup, topic, Map.of(0, 7L, 1, 4L, 2, 0L));
        Map<Integer, Long> start = cluster.committedOffsets(legacyGroup, topic);
        assertEquals(Map.of(0, 7L, 1, 4L, 2, 0L), start);

        Context ctx = context(topic, "");
        KsqlStatements.Names n = KsqlStatements.Names.of(topic);
        scriptCreate(n, topic, 60);

        engine(ctx).create(MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start), start, Duration.ofSeconds(10));

        String rated = statements().get(2);
        assertEquals("CREATE STREAM " + n.ratedStream() + " WITH (KAFKA_TOPIC='" + topic + "_rated', PARTITIONS=3) "
                + "AS SELECT *, RANDOM() < 0.1 AS FOR_NEW FROM " + n.sourceStream() + " WHERE "
                + "(ROWPARTITION = 0 AND ROWOFFSET >= 7) OR (ROWPARTITION = 1 AND ROWOFFSET >= 4) OR (ROWPARTITION = 2 AND ROWOFFSET >= 0)"
                + " EMIT CHANGES;", rated);
        assertFalse(rated.contains("ROWOFFSET > "), "a committed offset is the next record to process");
        assertTrue(statements().get(4).contains("PARTITIONS=3") && statements().get(5).contains("PARTITIONS=3"),
                "the filter streams have the original's partition count");
    }

    @Test
    void the_rated_and_derived_topics_are_created_like_the_original_before_ksqldb_writes_to_them() throws Exception {
        String topic = TestBroker.unique("kshape");
        Map<String, String> configs = Map.of("max.message.bytes", "2097152", "retention.ms", "172800000", "compression.type", "lz4");
        cluster.createTopic(topic, 3, configs);
        Context ctx = context(topic, "");
        KsqlStatements.Names n = KsqlStatements.Names.of(topic);
        scriptCreate(n, topic, 70);
        Map<Integer, Long> start = Map.of(0, 0L, 1, 0L, 2, 0L);

        engine(ctx).create(MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start), start, Duration.ofSeconds(10));

        for (String t : List.of(n.ratedTopic(), n.legacyTopic(), n.newTopic())) {
            assertEquals(3, cluster.partitions(t), t);
            Map<String, org.apache.kafka.clients.admin.ConfigEntry> got = cluster.topicConfigs(t);
            configs.forEach((k, v) -> assertEquals(v, got.get(k).value(), t + " " + k + " as the original's"));
            assertTrue(progress.contains("created topic " + t + " like " + topic + " (" + cluster.shapeOf(topic).describe() + ")"),
                    progress.toString());
        }
        assertTrue(statements().get(4).contains("KAFKA_TOPIC='" + n.legacyTopic() + "', PARTITIONS=3"), statements().get(4));
    }

    // ------------------------------------------------------------------ the steps that pause

    @Nested
    @DisplayName("steps that stop routing")
    class Pausing {

        @Test
        void drain_before_a_share_change_pauses_and_replaces_the_rating_query_which_the_replace_restarts() {
            String topic = topics(2);
            Context ctx = context(topic, "");
            KsqlStatements.Names n = KsqlStatements.Names.of(topic);
            MigrationState s = routing(ctx, Map.of(0, 0L, 1, 0L), 0.1, "random");
            KsqlEngine engine = engine(ctx);
            scriptPause(n, 70);
            server.ksql(KsqlFixtures.commandStatus("replace", 71));
            // ksqlDB's CREATE OR REPLACE builds a new query object that starts running, paused or not
            server.ksql(queries(n, "RUNNING", "RUNNING")).ksql(queries(n, "RUNNING", "RUNNING"));

            engine.pause(s, Duration.ofSeconds(20));
            engine.applyRouting(s.withRoute(0.9, s.rules(), s.newPartitions()));
            engine.resume(s, Duration.ofSeconds(20));

            List<String> expected = new ArrayList<>(pauseStatements(n));
            expected.add(KsqlStatements.replaceRatingStream(n, Map.of(0, 0L, 1, 0L), 2, Routing.RANDOM, 0.9, "CANARY_KEY"));
            expected.addAll(List.of("SHOW QUERIES EXTENDED;", "SHOW QUERIES EXTENDED;"));
            assertEquals(expected, statements(), "the replaced query runs already: no RESUME");
            assertEquals(List.of("POST /ksql", "GET /info", "POST /ksql", "POST /ksql", "POST /ksql", "POST /ksql", "POST /ksql"), paths());
            assertEquals(70, server.requests().get(4).json().path("commandSequenceNumber").asLong(), "the replace waits for the PAUSE");
            assertTrue(progress.stream().anyMatch(l -> l.contains("the replace restarted the rating query")), progress.toString());
            assertAuthOnEveryRequest();
        }

        @Test
        void a_paused_query_is_not_paused_again_and_paused_is_read_from_the_status_per_server() {
            String topic = topics(1);
            Context ctx = context(topic, "");
            KsqlStatements.Names n = KsqlStatements.Names.of(topic);
            MigrationState s = routing(ctx, Map.of(0, 0L), 0.1, "random");
            // half paused: PAUSE is sent, then the wait polls until every server reports PAUSED
            server.ksql(queries(n, "RUNNING", "PAUSED"))
                    .reply("GET", "/info", 200, info("7.4.0"))
                    .ksql(KsqlFixtures.commandStatus("PAUSE;", 80))
                    .ksql(queries(n, "PAUSED", "RUNNING"))
                    .ksql(queries(n, "PAUSED", "PAUSED"));

            engine(ctx).pause(s, Duration.ofSeconds(20));

            assertEquals(List.of("SHOW QUERIES EXTENDED;", "PAUSE " + ratingId(n) + ";", "SHOW QUERIES EXTENDED;", "SHOW QUERIES EXTENDED;"),
                    statements());

            server.ksql(queries(n, "PAUSED", "PAUSED"));
            int before = statements().size();
            engine(ctx).pause(s, Duration.ofSeconds(20));
            assertEquals(List.of("SHOW QUERIES EXTENDED;"), statements().subList(before, statements().size()), "already paused: no PAUSE");
        }

        @Test
        void check_data_pauses_counts_the_rated_legacy_and_new_topics_and_resumes() {
            String topic = topics(2);
            produce(topic + "_rated", 0, 5);
            produce(topic + "_rated", 1, 3);
            produce(topic + "_legacy", 0, 4);
            produce(topic + "_new", 0, 1);
            produce(topic + "_legacy", 1, 3);
            Context ctx = context(topic, "");
            KsqlStatements.Names n = KsqlStatements.Names.of(topic);
            MigrationState s = routing(ctx, Map.of(0, 0L, 1, 0L), 0.1, "random");
            commit(group(legacyId(n)), topic + "_rated", Map.of(0, 5L, 1, 3L));
            commit(group(newId(n)), topic + "_rated", Map.of(0, 5L, 1, 3L));
            KsqlEngine engine = engine(ctx);
            scriptPause(n, 90);
            scriptResume(n, 91);

            engine.pause(s, Duration.ofSeconds(20));
            Integrity result = engine.count(s, Duration.ofSeconds(20));
            engine.resume(s, Duration.ofSeconds(20));

            List<String> expected = new ArrayList<>(pauseStatements(n));
            expected.addAll(resumeStatements(n));
            assertEquals(expected, statements());
            assertEquals(topic + "_rated", result.consumedFrom());
            assertEquals(List.of(new Integrity.Row(0, 5, 4, 1), new Integrity.Row(1, 3, 3, 0)), result.rows());
            assertTrue(result.clean());
        }

        @Test
        void promote_and_rollback_pause_then_take_the_rating_groups_committed_offsets_then_drop_the_streams() {
            String topic = topics(3);
            produce(topic, 0, 20);
            produce(topic, 1, 20);
            produce(topic, 2, 20);
            Context ctx = context(topic, "");
            KsqlStatements.Names n = KsqlStatements.Names.of(topic);
            MigrationState s = routing(ctx, Map.of(0, 5L, 1, 9L, 2, 0L), 0.5, "random");
            commit(group(ratingId(n)), topic, Map.of(0, 17L, 1, 3L));
            KsqlEngine engine = engine(ctx);
            scriptPause(n, 100);
            server.ksql(KsqlFixtures.showProperties("exactly_once_v2", 300));
            for (int i = 0; i < 4; i++) {
                server.ksql(KsqlFixtures.commandStatus("drop", 101 + i));
            }

            engine.pause(s, Duration.ofSeconds(20));
            Map<Integer, Long> position = engine.position(s);
            engine.remove(s, Duration.ofSeconds(20));

            // partition 0: the group's committed offset; partition 1: the group has not reached the start offset yet
            // (records below it were legacy's); partition 2: the group committed nothing, so nothing was routed
            assertEquals(Map.of(0, 17L, 1, 9L, 2, 0L), position);
            List<String> expected = new ArrayList<>(pauseStatements(n));
            expected.add("SHOW PROPERTIES;");
            expected.addAll(drops(n));
            assertEquals(expected, statements());
            assertAuthOnEveryRequest();
        }
    }

    // ------------------------------------------------------------------ failures

    @Nested
    @DisplayName("failures")
    class Failures {

        final Map<Integer, Long> start = Map.of(0, 3L);

        @Test
        void a_failed_create_drops_what_it_created_and_nothing_else() {
            Context ctx = context("orders", "");
            KsqlStatements.Names n = KsqlStatements.Names.of("orders");
            server.ksql(KsqlFixtures.streams())
                    .ksql(KsqlFixtures.commandStatus("source", 10))
                    .reply("POST", "/ksql", 400, KsqlFixtures.STATEMENT_ERROR)
                    .ksql(KsqlFixtures.commandStatus("drop", 11));

            KsqlException e = assertThrows(KsqlException.class, () -> engine(ctx).create(
                    MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start), start, Duration.ofSeconds(10)));

            assertOneLine(Cli.explain(e).getMessage());
            List<String> sent = statements();
            assertEquals(4, sent.size(), sent.toString());
            assertTrue(sent.get(2).startsWith("CREATE STREAM ORDERS_RATED "), sent.get(2));
            assertEquals("DROP STREAM IF EXISTS " + n.sourceStream() + ";", sent.get(3), "the source stream, without its topic");
        }

        @Test
        void a_create_failing_at_the_last_filter_drops_the_legacy_and_rating_streams_with_their_topics_then_the_source() {
            Context ctx = context("orders", "");
            server.ksql(KsqlFixtures.streams())
                    .ksql(KsqlFixtures.commandStatus("source", 10))
                    .ksql(KsqlFixtures.commandStatus("rated", 11))
                    .ksql(KsqlFixtures.describeSource("ORDERS_CANARY_SOURCE", "orders", "id"))
                    .ksql(KsqlFixtures.commandStatus("legacy", 12))
                    .ksql(KsqlFixtures.COMMAND_ERROR);
            for (int i = 0; i < 3; i++) {
                server.ksql(KsqlFixtures.commandStatus("drop", 15 + i));
            }

            KsqlException e = assertThrows(KsqlException.class, () -> engine(ctx).create(
                    MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start), start, Duration.ofSeconds(10)));

            assertTrue(e.getMessage().contains("Could not write to topic orders_new"), e.getMessage());
            assertOneLine(e.getMessage());
            List<String> sent = statements();
            assertEquals(List.of(
                    "DROP STREAM IF EXISTS ORDERS_LEGACY DELETE TOPIC;",
                    "DROP STREAM IF EXISTS ORDERS_RATED DELETE TOPIC;",
                    "DROP STREAM IF EXISTS ORDERS_CANARY_SOURCE;"), sent.subList(6, sent.size()));
        }

        @Test
        void after_an_unclear_answer_to_a_create_the_stream_list_decides_whether_to_send_it_again() {
            Context ctx = context("orders", "");
            KsqlStatements.Names n = KsqlStatements.Names.of("orders");
            String source = "CREATE STREAM ORDERS_CANARY_SOURCE (CANARY_KEY STRING KEY) "
                    + "WITH (KAFKA_TOPIC='orders', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON_SR');";
            server.ksql(KsqlFixtures.streams())
                    .reply("POST", "/ksql", 500, KsqlFixtures.GENERIC_ERROR_500)      // the source: unclear
                    .ksql(KsqlFixtures.streams("ORDERS_CANARY_SOURCE"))                  // ... it ran
                    .reply("POST", "/ksql", 503, KsqlFixtures.GENERIC_ERROR_503)      // the rating stream: unclear
                    .ksql(KsqlFixtures.streams("ORDERS_CANARY_SOURCE"))                  // ... it did not run
                    .ksql(KsqlFixtures.commandStatus("rated", 21))                       // sent again
                    .ksql(KsqlFixtures.describeSource("ORDERS_CANARY_SOURCE", "orders", "id"))
                    .ksql(KsqlFixtures.commandStatus("legacy", 22))
                    .ksql(KsqlFixtures.commandStatus("new", 23))
                    .ksql(queries(n, "RUNNING", "RUNNING"));

            engine(ctx).create(MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start), start, Duration.ofSeconds(10));

            List<String> sent = statements();
            assertEquals(List.of("SHOW STREAMS;", source, "SHOW STREAMS;"), sent.subList(0, 3), "the source is not created twice");
            assertTrue(sent.get(3).startsWith("CREATE STREAM ORDERS_RATED"), sent.get(3));
            assertEquals("SHOW STREAMS;", sent.get(4));
            assertEquals(sent.get(3), sent.get(5), "the rating stream did not exist: sent again");
            assertEquals(10, sent.size(), sent.toString());
            assertTrue(progress.stream().anyMatch(l -> l.contains("the server shows it ran (create stream ORDERS_CANARY_SOURCE): not sent again")),
                    progress.toString());
        }

        @Test
        void after_an_unclear_answer_to_a_replace_the_rating_querys_statement_decides() {
            Context ctx = context("orders", "");
            KsqlStatements.Names n = KsqlStatements.Names.of("orders");
            MigrationState s = routing(ctx, start, 0.1, "random");
            MigrationState next = s.withRoute(0.5, s.rules(), s.newPartitions());
            String replace = KsqlStatements.replaceRatingStream(n, start, 1, Routing.RANDOM, 0.5, "CANARY_KEY");
            String ran = KsqlFixtures.queriesExtended(new Query(ratingId(n), n.ratedStream(), n.sourceStream(), group(ratingId(n)), "RUNNING"))
                    .replace("CREATE STREAM " + n.ratedStream() + " AS SELECT ...", replace.replace("'", "\\u0027"));
            server.reply("POST", "/ksql", 500, KsqlFixtures.GENERIC_ERROR_500).ksql(ran);

            engine(ctx).applyRouting(next);

            assertEquals(List.of(replace, "SHOW QUERIES EXTENDED;"), statements(), "the server runs the new statement: not sent again");

            server.reply("POST", "/ksql", 500, KsqlFixtures.GENERIC_ERROR_500).ksql(queries(n, "RUNNING", "RUNNING"))
                    .ksql(KsqlFixtures.commandStatus("replace", 30));
            engine(ctx).applyRouting(next);
            assertEquals(List.of(replace, "SHOW QUERIES EXTENDED;", replace), statements().subList(2, 5), "still the old statement: sent again");
        }

        @Test
        void streams_that_existed_before_a_failed_create_are_left_alone() {
            Context ctx = context("orders", "");
            server.ksql(KsqlFixtures.streams("ORDERS_CANARY_SOURCE"))
                    .reply("POST", "/ksql", 400, KsqlFixtures.STATEMENT_ERROR);

            assertThrows(KsqlException.class, () -> engine(ctx).create(
                    MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start), start, Duration.ofSeconds(10)));

            assertEquals(2, statements().size(), "nothing this call created, nothing to drop: " + statements());
        }

        @Test
        void a_server_at_least_once_by_default_is_accepted_and_each_query_must_show_exactly_once_or_the_create_is_undone() {
            Context ctx = context("orders", "");
            KsqlStatements.Names n = KsqlStatements.Names.of("orders");
            server.reply("GET", "/info", 200, info("0.29.0")).ksql(KsqlFixtures.showProperties("at_least_once"));
            scriptProbe("orders", "ID");
            engine(ctx).preflight(planned(ctx), false);
            assertTrue(progress.stream().anyMatch(l -> l.contains("runs queries with processing.guarantee at_least_once by default: each"
                    + " query of this migration asks for exactly_once_v2 and is checked once created")), progress.toString());

            // the server kept no guarantee for the queries: refused, and what this create made is dropped
            KsqlEngine engine = engine(ctx);
            server.reply("GET", "/info", 200, info("0.29.0")).ksql(KsqlFixtures.showProperties("at_least_once"));
            scriptProbe("orders", "ID");
            engine.preflight(planned(ctx), false);
            server.ksql(KsqlFixtures.streams());
            for (int i = 0; i < 4; i++) {
                server.ksql(KsqlFixtures.commandStatus("create", 30 + i));
                if (i == 1) {
                    server.ksql(KsqlFixtures.describeSource("ORDERS_CANARY_SOURCE", "orders", "id"));
                }
            }
            server.ksql(KsqlFixtures.queriesExtended("{\"ksql.streams.auto.offset.reset\":\"earliest\"}",
                    new Query(ratingId(n), n.ratedStream(), n.sourceStream(), group(ratingId(n)), "RUNNING"),
                    new Query(legacyId(n), n.legacyStream(), n.ratedStream(), group(legacyId(n)), "RUNNING"),
                    new Query(newId(n), n.newStream(), n.ratedStream(), group(newId(n)), "RUNNING")));
            for (int i = 0; i < 4; i++) {
                server.ksql(KsqlFixtures.commandStatus("drop", 40 + i));
            }
            int before = statements().size();
            UserException e = assertThrows(UserException.class, () -> engine.create(
                    MigrationState.start(ctx.name(), Context.EngineKind.KSQLDB, Routing.RANDOM, 0.1, start), start, Duration.ofSeconds(10)));
            assertOneLine(e.getMessage());
            assertEquals("ksqlDB at " + server.endpoint() + " runs the queries " + ratingId(n) + " (the server's default), " + legacyId(n)
                    + " (the server's default), " + newId(n) + " (the server's default) without processing.guarantee=exactly_once_v2: a crash"
                    + " under at-least-once can route a record to both versions; the server did not keep the per-query setting: set"
                    + " ksql.streams.processing.guarantee=exactly_once_v2 on the server, or accept it with --allow-at-least-once", e.getMessage());
            assertEquals(drops(n), statements().subList(before + 7, statements().size()), "the create is undone");
        }

        @Test
        void preflight_refuses_a_server_older_than_pause_and_resume() {
            Context ctx = context("orders", "");
            server.reply("GET", "/info", 200, info("0.27.2"));

            KsqlException e = assertThrows(KsqlException.class, () -> engine(ctx).preflight(planned(ctx), false));

            assertEquals(KsqlException.Kind.UNSUPPORTED, e.kind());
            assertOneLine(e.getMessage());
            assertTrue(e.getMessage().contains("version 0.27.2, which cannot PAUSE and RESUME a query"), e.getMessage());
            assertEquals(List.of("GET /info"), paths(), "nothing else was asked");
        }

        @Test
        void preflight_refuses_key_hash_in_one_line_on_a_server_without_md5_and_accepts_it_where_describe_function_finds_md5() {
            Context ctx = context("orders", "routing: key-hash\n");
            for (String old : List.of("0.28.1", "0.29.0", "7.3.0", "7.4.2")) {
                server.reply("GET", "/info", 200, info(old)).reply("POST", "/ksql", 400, KsqlFixtures.functionNotFound("MD5"));
                KsqlException e = assertThrows(KsqlException.class, () -> engine(ctx).preflight(planned(ctx), false), old);
                assertEquals(KsqlException.Kind.UNSUPPORTED, e.kind());
                assertOneLine(e.getMessage());
                assertEquals("ksqlDB at " + server.endpoint() + " is version " + old + ", which cannot hash the key: key-hash routing"
                        + " needs the MD5 function (DESCRIBE FUNCTION MD5 finds none), which came in Confluent Platform 7.5.0"
                        + " (no ksqlDB 0.x release has it); use routing random or partitions on this server", e.getMessage());
            }
            assertEquals(List.of("DESCRIBE FUNCTION MD5;", "DESCRIBE FUNCTION MD5;", "DESCRIBE FUNCTION MD5;", "DESCRIBE FUNCTION MD5;"),
                    statements(), "asked before SHOW PROPERTIES, and nothing created");

            server.reply("GET", "/info", 200, info("7.5.0")).ksql(KsqlFixtures.describeFunction("MD5"))
                    .ksql(KsqlFixtures.showProperties("exactly_once_v2"));
            scriptProbe("orders", "ID");
            engine(ctx).preflight(planned(ctx), false);
            assertEquals(List.of("DESCRIBE FUNCTION MD5;", "SHOW PROPERTIES;"), statements().subList(4, 6));

            Context random = context("rorders", "");
            server.reply("GET", "/info", 200, info("0.29.0")).ksql(KsqlFixtures.showProperties("exactly_once_v2"));
            scriptProbe("rorders", "ID");
            engine(random).preflight(planned(random), false);
            assertEquals("SHOW PROPERTIES;", statements().get(9), "random routing does not need MD5");
        }

        @org.junit.jupiter.params.ParameterizedTest
        @org.junit.jupiter.params.provider.EnumSource(KsqlFixtures.Gate.class)
        void preflight_at_each_version_gate_accepts_a_header_rule_and_key_hash_only_where_the_server_has_them(KsqlFixtures.Gate gate) {
            Context ctx = context("orders", "routing: key-hash\nrules:\n  - header:tenant=beta\n");
            MigrationState planned = planned(ctx).withRoute(0.0, ctx.rules(), null);
            server.reply("GET", "/info", 200, gate.info()).reply("POST", "/ksql", gate.md5Status(), gate.md5Answer());
            if (gate.md5) {
                server.ksql(KsqlFixtures.showProperties("exactly_once_v2"));
                scriptProbe("orders", "ID");
                engine(ctx).preflight(planned, false);
                assertEquals(List.of("DESCRIBE FUNCTION MD5;", "SHOW PROPERTIES;"), statements().subList(0, 2));
            } else {
                KsqlException e = assertThrows(KsqlException.class, () -> engine(ctx).preflight(planned, false));
                assertOneLine(e.getMessage());
                assertTrue(e.getMessage().contains("is version " + gate.version + ", which cannot hash the key"), e.getMessage());
                assertFalse(e.getMessage().contains("PAUSE") || e.getMessage().contains("header"),
                        "PAUSE/RESUME and header columns are there from 0.28 and 7.3: " + e.getMessage());
                assertEquals(List.of("DESCRIBE FUNCTION MD5;"), statements(), "nothing created");
            }
            assertEquals(gate.pauseResume, KsqlClient.supportsPauseResume(gate.version));
            assertEquals(gate.headerColumns, KsqlClient.supportsHeaderColumns(gate.version));
        }

        @Test
        void preflight_refuses_in_one_line_a_server_without_header_columns_when_a_rule_reads_a_header() {
            Context ctx = context("orders", "rules:\n  - header:tenant=beta\n");
            MigrationState planned = planned(ctx).withRoute(0.0, ctx.rules(), null);
            for (String old : List.of("0.23.1", "0.26.0", "7.2.1")) {
                server.reply("GET", "/info", 200, info(old));
                KsqlException e = assertThrows(KsqlException.class, () -> engine(ctx).preflight(planned, false), old);
                assertEquals(KsqlException.Kind.UNSUPPORTED, e.kind());
                assertOneLine(e.getMessage());
                assertTrue(e.getMessage().contains("is version " + old + ", which cannot PAUSE and RESUME a query: PAUSE/RESUME need ksqlDB"
                        + " 0.28.0 or newer (Confluent Platform 7.3+); and cannot read the record header(s) 'tenant' the rules match: header"
                        + " columns beside a value schema from Schema Registry need ksqlDB 0.27.0 or newer (Confluent Platform 7.3+)"),
                        e.getMessage());
            }
            server.reply("GET", "/info", 200, info("0.27.2"));
            String pauseOnly = assertThrows(KsqlException.class, () -> engine(ctx).preflight(planned, false)).getMessage();
            assertFalse(pauseOnly.contains("header"), "0.27 has header columns: " + pauseOnly);
            assertEquals(List.of("GET /info", "GET /info", "GET /info", "GET /info"), paths(), "nothing else was asked");

            server.reply("GET", "/info", 200, info("0.29.0")).ksql(KsqlFixtures.showProperties("exactly_once_v2"));
            scriptProbe("orders", "ID");
            engine(ctx).preflight(planned, false);
        }

        @Test
        void a_rule_the_source_stream_cannot_read_is_refused_before_anything_changes() {
            Context ctx = context("orders", "");
            MigrationState running = routing(ctx, start, 0.1, "random");
            UserException header = assertThrows(UserException.class, () -> engine(ctx).checkRouting(running,
                    running.withRoute(0.1, Rule.parseAll(List.of("header:region=eu")), null)));
            assertOneLine(header.getMessage());
            assertTrue(header.getMessage().contains("engine ksqldb reads only the headers its source stream declared at migration (none): "
                    + "a rule on header region needs a migration that starts with it"), header.getMessage());
            Context bigint = context("borders", "key_type: BIGINT\n");
            UserException key = assertThrows(UserException.class, () -> engine(bigint).checkRouting(running,
                    running.withRoute(0.1, Rule.parseAll(List.of("key:42")), null)));
            assertTrue(key.getMessage().contains("key rules compare the key as text: engine ksqldb needs key_type STRING (the context has BIGINT)"),
                    key.getMessage());
            engine(ctx).checkRouting(running, running.withRoute(0.1, Rule.parseAll(List.of("key:a", "legacy:key-prefix:vip-")), null));
            assertTrue(server.requests().isEmpty(), "decided from the state and the context, without the server");
        }

        @Test
        void preflight_refuses_in_one_line_value_columns_named_like_the_canarys_or_ksqldbs_own_and_drops_its_probe() {
            Context ctx = context("orders", "");
            for (String clash : List.of("CANARY_KEY", "FOR_NEW", "ROWTIME", "ROWPARTITION", "ROWOFFSET", "CANARY_HEADER_1")) {
                server.reply("GET", "/info", 200, info("7.5.0")).ksql(KsqlFixtures.showProperties("exactly_once_v2"));
                scriptProbe("orders", "ID", clash, "AMOUNT");
                int before = statements().size();
                UserException e = assertThrows(UserException.class, () -> engine(ctx).preflight(planned(ctx), false), clash);
                assertOneLine(e.getMessage());
                assertEquals(UserException.BAD_INPUT, e.exitCode(), e.getMessage());
                assertEquals("the value schema of orders (as ksqlDB infers it from Schema Registry) has the column(s) " + clash
                        + ": engine ksqldb names columns CANARY_KEY, FOR_NEW, ROWTIME, ROWPARTITION, ROWOFFSET and CANARY_HEADER_<n>"
                        + " itself, so its queries would clash; use engine router for this topic", e.getMessage());
                assertEquals(probeStatements("orders"), statements().subList(before + 1, before + 4),
                        "the probe has no key column and is dropped without its topic");
            }
            server.reply("GET", "/info", 200, info("7.5.0")).ksql(KsqlFixtures.showProperties("exactly_once_v2"));
            scriptProbe("orders", "ID", "ROWTIME_LOCAL", "FOR_NEWS");
            engine(ctx).preflight(planned(ctx), false);
        }

        @Test
        void preflight_refuses_a_value_format_without_schema_registry_before_asking_the_server() {
            Context json = context("orders", "value_format: JSON\n");
            UserException e = assertThrows(UserException.class, () -> engine(json).preflight(planned(json), false));
            assertOneLine(e.getMessage());
            assertTrue(e.getMessage().contains("key 'value_format': engine ksqldb needs a format whose schema is in Schema Registry"),
                    e.getMessage());
            assertTrue(server.requests().isEmpty());
        }

        @Test
        void each_error_shape_of_the_server_is_one_line_for_the_user() {
            Context ctx = context("orders", "");
            KsqlEngine engine = engine(ctx);
            MigrationState s = routing(ctx, start, 0.1, "random");
            server.reply("GET", "/info", 401, KsqlFixtures.UNAUTHORIZED);
            assertUserLine(() -> engine.preflight(planned(ctx), false), "refused the credentials (HTTP 401): check the ksqlDB API key and secret");
            server.reply("GET", "/info", 403, KsqlFixtures.FORBIDDEN);
            assertUserLine(() -> engine.preflight(planned(ctx), false), "give the API key's owner the KsqlAdmin role");
            server.reply("POST", "/ksql", 400, KsqlFixtures.STATEMENT_ERROR);
            assertUserLine(() -> engine.applyRouting(s.withRoute(0.2, s.rules(), s.newPartitions())), "ORDERS_CANARY_SOURCE does not exist. (error 40001)");
            server.reply("POST", "/ksql", 500, KsqlFixtures.GENERIC_ERROR_500).reply("POST", "/ksql", 500, KsqlFixtures.GENERIC_ERROR_500);
            assertUserLine(() -> engine.remove(s, Duration.ofSeconds(5)), "failed after 2 attempts: Could not write the statement");
            server.ksql(KsqlFixtures.COMMAND_ERROR);
            assertUserLine(() -> engine.applyRouting(s.withRoute(0.2, s.rules(), s.newPartitions())), "Could not write to topic orders_new");

            KsqlClient nowhere = new KsqlClient(java.net.URI.create("http://127.0.0.1:" + LocalBroker.freePort()), null, null, null,
                    Duration.ofSeconds(2), new KsqlClient.RetryPolicy(2, Duration.ofMillis(10), Duration.ofMillis(10)), d -> { });
            KsqlEngine unreachable = new KsqlEngine(ctx, cluster, nowhere, progress::add);
            assertUserLine(() -> unreachable.preflight(planned(ctx), false), "cannot reach ksqlDB at http://127.0.0.1:");
            assertTrue(unreachable.describeInstances(s).contains("cannot reach ksqlDB"), "status shows the problem instead of failing");
        }

        void assertUserLine(Runnable step, String contains) {
            RuntimeException e = assertThrows(RuntimeException.class, step::run);
            UserException user = Cli.explain(e);
            assertTrue(user != null, "not a user-facing failure: " + e);
            assertOneLine(user.getMessage());
            assertTrue(user.getMessage().contains(contains), user.getMessage());
            assertFalse(user.getMessage().contains(SECRET), "no secret in messages");
        }
    }

    @Test
    void status_describes_the_three_queries_in_one_line() {
        Context ctx = context("orders", "");
        KsqlStatements.Names n = KsqlStatements.Names.of("orders");
        server.ksql(queries(n, "PAUSED", "RUNNING"));

        String line = engine(ctx).describeInstances(routing(ctx, Map.of(0, 0L), 0.1, "random"));

        assertEquals("ksqlDB at " + server.endpoint() + ": rating " + ratingId(n) + " {PAUSED=1, RUNNING=1}, legacy " + legacyId(n)
                + " {RUNNING=2}, new " + newId(n) + " {RUNNING=2}", line);
    }

    // ------------------------------------------------------------------ bad input through the scripts

    @Nested
    @DisplayName("bad input through the scripts' error handler")
    class ThroughTheScripts {

        Kit kit(String endpoint) {
            return new Kit(dir, 2, "engine: ksqldb\nvalue_format: JSON_SR\nksqldb:\n  endpoint: " + endpoint + "\n");
        }

        @Test
        void an_unreachable_ksqldb_endpoint_is_one_line_and_nothing_changes() throws Exception {
            try (Kit kit = kit("http://127.0.0.1:" + LocalBroker.freePort())) {
                BadInputTest.assertOneLine(kit.migration("--missing-offsets", "earliest"), 3, "cannot reach ksqlDB at http://127.0.0.1:");
                assertEquals(null, kit.state());
            }
        }

        @Test
        void wrong_credentials_are_one_line() throws Exception {
            server.reply("GET", "/info", 401, KsqlFixtures.UNAUTHORIZED);
            try (Kit kit = kit(server.endpoint().toString())) {
                BadInputTest.assertOneLine(kit.migration("--missing-offsets", "earliest"), 3,
                        "refused the credentials (HTTP 401): check the ksqlDB API key and secret");
                assertEquals(null, kit.state());
            }
        }

        @Test
        void a_server_older_than_pause_and_resume_is_one_line() throws Exception {
            server.reply("GET", "/info", 200, info("0.23.1"));
            try (Kit kit = kit(server.endpoint().toString())) {
                BadInputTest.assertOneLine(kit.migration("--missing-offsets", "earliest"), 3,
                        "PAUSE/RESUME need ksqlDB 0.28.0 or newer");
                assertEquals(List.of("GET /info"), paths());
            }
        }

        @Test
        void a_header_rule_on_a_server_without_header_columns_is_one_line_and_nothing_changes() throws Exception {
            server.reply("GET", "/info", 200, info("0.23.1"));
            try (Kit kit = kit(server.endpoint().toString())) {
                BadInputTest.assertOneLine(kit.migration("0", "--rule", "header:tenant=beta", "--missing-offsets", "earliest"), 3,
                        "cannot read the record header(s) 'tenant' the rules match: header columns beside a value schema from"
                                + " Schema Registry need ksqlDB 0.27.0 or newer");
                assertEquals(List.of("GET /info"), paths(), "refused before any statement");
                assertEquals(null, kit.state());
            }
        }

        @Test
        void key_hash_on_ksqldb_0_29_is_one_line_naming_the_version_needed_and_nothing_changes() throws Exception {
            server.reply("GET", "/info", 200, info("0.29.0")).reply("POST", "/ksql", 400, KsqlFixtures.functionNotFound("MD5"));
            try (Kit kit = new Kit(dir, 2, "engine: ksqldb\nvalue_format: JSON_SR\nrouting: key-hash\nksqldb:\n  endpoint: "
                    + server.endpoint() + "\n")) {
                BadInputTest.assertOneLine(kit.migration("--missing-offsets", "earliest"), 3,
                        "is version 0.29.0, which cannot hash the key: key-hash routing needs the MD5 function (DESCRIBE FUNCTION MD5"
                                + " finds none), which came in Confluent Platform 7.5.0");
                assertEquals(List.of("DESCRIBE FUNCTION MD5;"), statements(), "refused before any other statement");
                assertEquals(null, kit.state());
            }
        }

        @Test
        void a_dry_run_asks_the_server_and_creates_nothing_not_even_the_probe() throws Exception {
            server.reply("GET", "/info", 200, info("0.29.0")).ksql(KsqlFixtures.showProperties("exactly_once_v2"));
            try (Kit kit = kit(server.endpoint().toString())) {
                Kit.Run run = kit.migration("--missing-offsets", "earliest", "--dry-run");
                assertEquals(0, run.exitCode(), run.out() + run.err());
                assertEquals(List.of("SHOW PROPERTIES;"), statements(), "no CREATE, not even of the probe stream");
                assertTrue(run.out().contains("dry run: the value columns of " + kit.topic + " are not checked"), run.out());
                assertEquals(null, kit.state());
            }
        }

        @Test
        void queries_the_server_runs_without_exactly_once_are_one_line_and_the_migration_is_undone() throws Exception {
            try (Kit kit = kit(server.endpoint().toString())) {
                KsqlStatements.Names n = KsqlStatements.Names.of(kit.topic);
                server.reply("GET", "/info", 200, info("0.29.0")).ksql(KsqlFixtures.showProperties("at_least_once"));
                scriptProbe(kit.topic, "ID");
                server.ksql(KsqlFixtures.streams());
                for (int i = 0; i < 4; i++) {
                    server.ksql(KsqlFixtures.commandStatus("create", 5 + i));
                    if (i == 1) {
                        server.ksql(KsqlFixtures.describeSource(n.sourceStream(), kit.topic, "ID"));
                    }
                }
                server.ksql(KsqlFixtures.queriesExtended("{}",
                        new Query(ratingId(n), n.ratedStream(), n.sourceStream(), group(ratingId(n)), "RUNNING"),
                        new Query(legacyId(n), n.legacyStream(), n.ratedStream(), group(legacyId(n)), "RUNNING"),
                        new Query(newId(n), n.newStream(), n.ratedStream(), group(newId(n)), "RUNNING")));
                for (int i = 0; i < 8; i++) {
                    server.ksql(KsqlFixtures.commandStatus("drop", 20 + i));
                }

                Kit.Run run = kit.migration("--missing-offsets", "earliest");

                BadInputTest.assertOneLine(run, 2, "without processing.guarantee=exactly_once_v2: a crash under at-least-once can route a"
                        + " record to both versions");
                List<String> sent = statements();
                assertEquals(drops(n), sent.subList(sent.size() - 8, sent.size() - 4), "the engine drops what it created");
                assertEquals(drops(n), sent.subList(sent.size() - 4, sent.size()), "the migration's undo removes everything");
                assertEquals(null, kit.state(), "no migration state is left");
            }
        }

        @Test
        void a_statement_error_is_one_line_and_the_failed_migration_removes_what_it_created() throws Exception {
            try (Kit kit = kit(server.endpoint().toString())) {
                KsqlStatements.Names n = KsqlStatements.Names.of(kit.topic);
                server.reply("GET", "/info", 200, info("0.29.0"))
                        .ksql(KsqlFixtures.showProperties("exactly_once_v2"));
                scriptProbe(kit.topic, "ID");
                server.ksql(KsqlFixtures.streams())
                        .ksql(KsqlFixtures.commandStatus("source", 5))
                        .reply("POST", "/ksql", 400, """
                                {"@type":"statement_error","error_code":40001,
                                 "message":"Invalid value for FOR_NEW: expression type mismatch\\nline 2",
                                 "statementText":"CREATE STREAM X_RATED ...;","entities":[]}
                                """);
                for (int i = 0; i < 5; i++) {
                    server.ksql(KsqlFixtures.commandStatus("drop", 6 + i));
                }

                Kit.Run run = kit.migration("--missing-offsets", "earliest");

                BadInputTest.assertOneLine(run, 3, "ksqlDB rejected \"CREATE STREAM X_RATED ...;\": Invalid value for FOR_NEW");
                List<String> sent = statements();
                sent = sent.subList(4, sent.size());
                assertEquals(List.of("SHOW PROPERTIES;", "SHOW STREAMS;"), List.of(statements().get(0), sent.get(0)));
                assertEquals(probeStatements(kit.topic), statements().subList(1, 4));
                assertTrue(sent.get(1).startsWith("CREATE STREAM " + n.sourceStream()), sent.toString());
                assertTrue(sent.get(2).startsWith("CREATE STREAM " + n.ratedStream()), sent.toString());
                assertEquals("DROP STREAM IF EXISTS " + n.sourceStream() + ";", sent.get(3), "the engine drops what it created");
                assertEquals(drops(n), sent.subList(4, sent.size()), "the migration's undo removes everything, idempotently");
                assertEquals(null, kit.state(), "no migration state is left");
                assertTrue(run.out().contains("migration failed"), run.out());
            }
        }
    }

    static void assertOneLine(String message) {
        assertFalse(message.contains("\n") || message.contains("\r"), "one line expected: " + message);
    }
}
