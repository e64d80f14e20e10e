package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import canary.context.Routing;
import canary.context.Rule;
import canary.engine.ksqldb.KsqlStatements;

/** Golden statements of the ksqlDB engine. */
@Tag("fast")
class KsqlStatementsTest {

    private static final KsqlStatements.Names ORDERS = KsqlStatements.Names.of("orders");
    private static final Map<Integer, Long> OFFSETS = new TreeMap<>(Map.of(2, 0L, 0, 42L, 1, 7L));

    @Test
    void should_derive_stream_and_topic_names_from_the_topic() {
        assertEquals("ORDERS_CANARY_SOURCE", ORDERS.sourceStream());
        assertEquals("ORDERS_RATED", ORDERS.ratedStream());
        assertEquals("ORDERS_LEGACY", ORDERS.legacyStream());
        assertEquals("ORDERS_NEW", ORDERS.newStream());
        assertEquals("orders_rated", ORDERS.ratedTopic());
        assertEquals("orders_legacy", ORDERS.legacyTopic());
        assertEquals("orders_new", ORDERS.newTopic());

        KsqlStatements.Names odd = KsqlStatements.Names.of("shop.orders-v2");
        assertEquals("SHOP_ORDERS_V2_RATED", odd.ratedStream());
        assertEquals("shop.orders-v2_rated", odd.ratedTopic());
        assertEquals("T_2024_EVENTS_NEW", KsqlStatements.Names.of("2024-events").newStream());
    }

    @Test
    void should_refuse_a_name_that_is_not_a_topic() {
        assertThrows(IllegalArgumentException.class, () -> KsqlStatements.Names.of("orders'; DROP"));
        assertThrows(IllegalArgumentException.class, () -> KsqlStatements.Names.of(""));
    }

    @Test
    void should_create_the_source_stream_with_key_type_and_formats() {
        assertEquals("CREATE STREAM ORDERS_CANARY_SOURCE (ORDER_KEY STRING KEY) "
                        + "WITH (KAFKA_TOPIC='orders', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON_SR');",
                KsqlStatements.createSourceStream(ORDERS, new KsqlStatements.SourceFormat("ORDER_KEY", "STRING", "KAFKA", "json_sr", null)));

        assertEquals("CREATE STREAM ORDERS_CANARY_SOURCE (ID BIGINT KEY, ITEM STRING, QTY INT) "
                        + "WITH (KAFKA_TOPIC='orders', KEY_FORMAT='JSON', VALUE_FORMAT='JSON');",
                KsqlStatements.createSourceStream(ORDERS,
                        new KsqlStatements.SourceFormat("ID", "BIGINT", "JSON", "JSON", "ITEM STRING, QTY INT")));

        assertEquals("CREATE STREAM ORDERS_CANARY_SOURCE WITH (KAFKA_TOPIC='orders', KEY_FORMAT='NONE', VALUE_FORMAT='AVRO');",
                KsqlStatements.createSourceStream(ORDERS,
                        new KsqlStatements.SourceFormat(null, null, "NONE", "AVRO", null)));
    }

    @Test
    void should_rate_from_the_committed_offset_inclusive_in_every_partition() {
        String statement = KsqlStatements.createRatingStream(ORDERS, OFFSETS, 3, Routing.RANDOM, 0.1, "ORDER_KEY");

        assertEquals("CREATE STREAM ORDERS_RATED WITH (KAFKA_TOPIC='orders_rated', PARTITIONS=3) "
                + "AS SELECT *, RANDOM() < 0.1 AS FOR_NEW FROM ORDERS_CANARY_SOURCE "
                + "WHERE (ROWPARTITION = 0 AND ROWOFFSET >= 42) OR (ROWPARTITION = 1 AND ROWOFFSET >= 7) "
                + "OR (ROWPARTITION = 2 AND ROWOFFSET >= 0) EMIT CHANGES;", statement);
        assertFalse(statement.contains("ROWOFFSET > "), "a committed offset is the next record to process");
    }

    @Test
    void should_replace_the_rating_query_with_the_same_text_and_a_new_share() {
        String created = KsqlStatements.createRatingStream(ORDERS, OFFSETS, 3, Routing.RANDOM, 0.1, null);
        String replaced = KsqlStatements.replaceRatingStream(ORDERS, OFFSETS, 3, Routing.RANDOM, 0.9, null);

        assertTrue(replaced.startsWith("CREATE OR REPLACE STREAM ORDERS_RATED WITH (KAFKA_TOPIC='orders_rated', PARTITIONS=3) "));
        assertEquals(created.replace("CREATE STREAM", "CREATE OR REPLACE STREAM").replace("< 0.1", "< 0.9"), replaced);
    }

    @Test
    void should_refuse_start_offsets_that_miss_a_partition() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KsqlStatements.startCriteria(Map.of(0, 5L, 2, 1L), 3));
        assertEquals("no start offset for partition(s) [1]: every partition needs one, or its records would never be routed",
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KsqlStatements.startCriteria(Map.of(0, 5L, 1, 1L), 1));
        assertThrows(IllegalArgumentException.class, () -> KsqlStatements.startCriteria(Map.of(0, -1L), 1));
    }

    @Test
    void should_format_the_share_without_locale_or_exponent() {
        Locale before = Locale.getDefault();
        try {
            Locale.setDefault(Locale.GERMANY);
            assertEquals("0.1", KsqlStatements.formatShare(0.1));
            assertEquals("0.0001", KsqlStatements.formatShare(1e-4));
            assertEquals("0.9", KsqlStatements.formatShare(.9));
            assertEquals("1", KsqlStatements.formatShare(1.0));
            assertEquals("0", KsqlStatements.formatShare(0.0));
            assertEquals("0.333", KsqlStatements.formatShare(0.333));
            assertTrue(KsqlStatements.decision(Routing.RANDOM, 0.1, null).endsWith("< 0.1"));
        } finally {
            Locale.setDefault(before);
        }
    }

    @Test
    void should_refuse_a_share_outside_zero_and_one() {
        assertThrows(IllegalArgumentException.class, () -> KsqlStatements.formatShare(1.01));
        assertThrows(IllegalArgumentException.class, () -> KsqlStatements.formatShare(-0.1));
        assertThrows(IllegalArgumentException.class, () -> KsqlStatements.formatShare(Double.NaN));
    }

    @Test
    void should_route_by_a_stable_bucket_of_the_key() {
        assertEquals("CASE WHEN ORDER_KEY IS NULL THEN RANDOM() < 0.25 ELSE "
                        + "((INT_FROM_BYTES(TO_BYTES(SUBSTRING(MD5(CAST(ORDER_KEY AS STRING)), 1, 8), 'hex')) % 10000) + 10000) % 10000"
                        + " < 2500 END",
                KsqlStatements.decision(Routing.KEY_HASH, 0.25, "ORDER_KEY"));
        assertEquals(1000, KsqlStatements.bucketThreshold(0.1));
        assertEquals(10000, KsqlStatements.bucketThreshold(1));
        assertEquals(0, KsqlStatements.bucketThreshold(0));
    }

    @Test
    void should_fall_back_to_random_when_records_have_no_key() {
        assertEquals("RANDOM() < 0.5", KsqlStatements.decision(Routing.KEY_HASH, 0.5, null));
    }

    @Test
    void should_parse_routing_labels() {
        assertEquals(Routing.KEY_HASH, Routing.parse("key-hash"));
        assertEquals(Routing.RANDOM, Routing.parse(" random "));
        assertThrows(canary.common.UserException.class, () -> Routing.parse("round-robin"));
    }

    @Test
    void should_filter_each_version_with_the_original_partition_count() {
        assertEquals("CREATE STREAM ORDERS_LEGACY WITH (KAFKA_TOPIC='orders_legacy', PARTITIONS=6) "
                        + "AS SELECT * FROM ORDERS_RATED WHERE FOR_NEW = false EMIT CHANGES;",
                KsqlStatements.createFilterStream(ORDERS, false, 6, null));
        assertEquals("CREATE STREAM ORDERS_NEW WITH (KAFKA_TOPIC='orders_new', PARTITIONS=6) "
                        + "AS SELECT * FROM ORDERS_RATED WHERE FOR_NEW = true EMIT CHANGES;",
                KsqlStatements.createFilterStream(ORDERS, true, 6, List.of()));
        assertEquals("CREATE STREAM ORDERS_NEW WITH (KAFKA_TOPIC='orders_new', PARTITIONS=6) "
                        + "AS SELECT `ORDER_KEY`, `orderId`, `item``s` FROM ORDERS_RATED WHERE FOR_NEW = true EMIT CHANGES;",
                KsqlStatements.createFilterStream(ORDERS, true, 6, List.of("ORDER_KEY", "orderId", "item`s")));
        assertEquals("CREATE STREAM ORDERS_LEGACY WITH (KAFKA_TOPIC='orders_legacy', PARTITIONS=6, VALUE_SCHEMA_ID=42) "
                        + "AS SELECT `CANARY_KEY`, `ID` FROM ORDERS_RATED WHERE FOR_NEW = false EMIT CHANGES;",
                KsqlStatements.createFilterStream(ORDERS, false, 6, List.of("CANARY_KEY", "ID"), 42),
                "the producers' value schema, by its Schema Registry id");
    }

    @Test
    void should_pause_resume_and_terminate_a_query_id() {
        assertEquals("PAUSE CSAS_ORDERS_RATED_11;", KsqlStatements.pause("CSAS_ORDERS_RATED_11"));
        assertEquals("RESUME CSAS_ORDERS_RATED_11;", KsqlStatements.resume("CSAS_ORDERS_RATED_11"));
        assertEquals("TERMINATE CSAS_ORDERS_RATED_11;", KsqlStatements.terminate("CSAS_ORDERS_RATED_11"));
        assertThrows(IllegalArgumentException.class, () -> KsqlStatements.pause("ALL; DROP"));
    }

    @Test
    void should_drop_derived_streams_with_their_topics_and_never_the_original_topic() {
        List<String> drops = KsqlStatements.dropAll(ORDERS);

        assertEquals(List.of(
                "DROP STREAM IF EXISTS ORDERS_NEW DELETE TOPIC;",
                "DROP STREAM IF EXISTS ORDERS_LEGACY DELETE TOPIC;",
                "DROP STREAM IF EXISTS ORDERS_RATED DELETE TOPIC;",
                "DROP STREAM IF EXISTS ORDERS_CANARY_SOURCE;"), drops);
        assertFalse(drops.get(3).contains("DELETE TOPIC"), "the original topic belongs to the producers");
    }

    @Test
    void should_read_the_source_from_the_earliest_offset() {
        assertEquals("earliest", KsqlStatements.QUERY_PROPERTIES.get("ksql.streams.auto.offset.reset"));
    }

    @Test
    void should_write_rules_before_the_share_a_legacy_pin_first() {
        List<Rule> rules = Rule.parseAll(List.of("key:acct-1,o'brien", "header:tenant=beta", "legacy:key-prefix:vip-,gold-"));
        assertEquals("CASE WHEN (SUBSTRING(K, 1, 4) = 'vip-' OR SUBSTRING(K, 1, 5) = 'gold-') THEN false "
                        + "WHEN (K IN ('acct-1', 'o''brien')) OR (FROM_BYTES(CANARY_HEADER_1, 'utf8') IN ('beta')) THEN true "
                        + "ELSE RANDOM() < 0.1 END",
                KsqlStatements.routingDecision(Routing.RANDOM, 0.1, "K", null, rules, Map.of("tenant", "CANARY_HEADER_1")));
        assertEquals("CASE WHEN (K IN ('a')) THEN true ELSE " + KsqlStatements.decision(Routing.KEY_HASH, 0.5, "K") + " END",
                KsqlStatements.routingDecision(Routing.KEY_HASH, 0.5, "K", null, Rule.parseAll(List.of("key:a")), Map.of()));
        assertEquals(KsqlStatements.decision(Routing.RANDOM, 0.3, "K"),
                KsqlStatements.routingDecision(Routing.RANDOM, 0.3, "K", null, List.of(), Map.of()), "without rules, the share alone");
        assertThrows(IllegalArgumentException.class, () -> KsqlStatements.routingDecision(Routing.RANDOM, 0.1, "K", null,
                Rule.parseAll(List.of("header:region=eu")), Map.of()), "a header rule needs the column of its header");
    }

    @Test
    void should_write_whole_partitions_as_a_rowpartition_condition() {
        assertEquals("ROWPARTITION IN (0, 1, 4)", KsqlStatements.routingDecision(Routing.PARTITIONS, 0.5, "K", List.of(4, 0, 1), List.of(), Map.of()));
        assertEquals("false", KsqlStatements.routingDecision(Routing.PARTITIONS, 0.0, "K", List.of(), List.of(), Map.of()));
    }

    @Test
    void should_declare_header_columns_in_the_source_stream() {
        Map<String, String> headers = new java.util.LinkedHashMap<>();
        headers.put("tenant", "CANARY_HEADER_1");
        headers.put("it's", "CANARY_HEADER_2");
        assertEquals("CREATE STREAM ORDERS_CANARY_SOURCE (CANARY_KEY STRING KEY, CANARY_HEADER_1 BYTES HEADER('tenant'), "
                        + "CANARY_HEADER_2 BYTES HEADER('it''s')) WITH (KAFKA_TOPIC='orders', KEY_FORMAT='KAFKA', VALUE_FORMAT='AVRO');",
                KsqlStatements.createSourceStream(ORDERS, new KsqlStatements.SourceFormat("CANARY_KEY", "STRING", "KAFKA", "AVRO", null),
                        headers));
    }
}
