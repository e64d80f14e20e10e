package canary.engine.ksqldb;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

import canary.context.Role;
import canary.context.Routing;
import canary.context.Rule;

/**
 * The ksqlDB statements of the {@code ksqldb} engine, as pure functions of their inputs.
 *
 * <p>The original design, with its defects fixed:
 * <pre>
 * original topic --> source stream --> rating query  --> &lt;topic&gt;_rated (every column + FOR_NEW)
 *                                      filter query  --> &lt;topic&gt;_legacy (FOR_NEW = false)
 *                                      filter query  --> &lt;topic&gt;_new    (FOR_NEW = true)
 * </pre>
 * <ul>
 *   <li>The rating query takes {@code ROWOFFSET >= start}: a committed offset is the next record to
 *       process (the original used {@code >} and lost one record per partition).</li>
 *   <li>Every partition of the original topic must have a start offset; a missing one would
 *       silently never be routed, so it is refused here.</li>
 *   <li>Dropping removes the derived streams with their topics, and the source stream
 *       <em>without</em> its topic: the original topic belongs to the producers.</li>
 * </ul>
 *
 * <h2>Naming</h2>
 * For a topic {@code orders} (see {@link Names}):
 * <table>
 *   <tr><th>what</th><th>stream</th><th>Kafka topic</th></tr>
 *   <tr><td>source</td><td>{@code ORDERS_CANARY_SOURCE}</td><td>{@code orders} (the original)</td></tr>
 *   <tr><td>rating</td><td>{@code ORDERS_RATED}</td><td>{@code orders_rated}</td></tr>
 *   <tr><td>legacy</td><td>{@code ORDERS_LEGACY}</td><td>{@code orders_legacy}</td></tr>
 *   <tr><td>new</td><td>{@code ORDERS_NEW}</td><td>{@code orders_new}</td></tr>
 * </table>
 * The stream prefix is the topic upper-cased with every character other than a letter, digit
 * or underscore replaced by {@code _} (and {@code T_} in front of a leading digit), so
 * {@code shop.orders-v2} gives {@code SHOP_ORDERS_V2_RATED}. Topics that differ only in those
 * characters share stream names; run one migration per prefix. Query ids are never derived from
 * these names: ksqlDB chooses them, and {@code SHOW QUERIES EXTENDED} is the only source.
 */
public final class KsqlStatements {

    /** The column the rating query adds: true for a record routed to the new version. */
    public static final String FOR_NEW = "FOR_NEW";

    /** The per-query property that asks for exactly-once, whatever the server's default. */
    public static final String PROCESSING_GUARANTEE = "processing.guarantee";
    public static final String EXACTLY_ONCE_V2 = "exactly_once_v2";

    /**
     * Properties to send with the statements that create the queries: read the source from the
     * earliest offset so that the {@code ROWOFFSET >= start} filter, not the consumer's reset
     * policy, decides where routing begins; and exactly-once for this query, so that a server (or a Confluent Cloud
     * cluster, which exposes no server setting) running at-least-once by default still runs these queries exactly-once.
     */
    public static final Map<String, Object> QUERY_PROPERTIES = Map.of("ksql.streams.auto.offset.reset", "earliest",
            PROCESSING_GUARANTEE, EXACTLY_ONCE_V2);

    private static final Pattern KAFKA_TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern TYPE = Pattern.compile("[A-Za-z][A-Za-z0-9_ ,()<>]*");
    private static final Pattern FORMAT = Pattern.compile("[A-Za-z_]+");

    private KsqlStatements() {
    }

    /** The names of the streams and topics derived from the original topic. */
    public record Names(String topic, String prefix) {

        public Names {
            requireTopic(topic);
            Objects.requireNonNull(prefix, "prefix");
        }

        /** Derives every name from the original topic (see the class comment). */
        public static Names of(String topic) {
            requireTopic(topic);
            String prefix = topic.toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9_]", "_");
            if (Character.isDigit(prefix.charAt(0))) {
                prefix = "T_" + prefix;
            }
            return new Names(topic, prefix);
        }

        public String sourceStream() {
            return prefix + "_CANARY_SOURCE";
        }

        public String ratedStream() {
            return prefix + "_RATED";
        }

        /** A stream that preflight creates over the original topic to read its value columns, and drops at once. */
        public String probeStream() {
            return prefix + "_CANARY_PROBE";
        }

        public String legacyStream() {
            return prefix + "_LEGACY";
        }

        public String newStream() {
            return prefix + "_NEW";
        }

        public String ratedTopic() {
            return topic + "_rated";
        }

        public String legacyTopic() {
            return topic + "_legacy";
        }

        public String newTopic() {
            return topic + "_new";
        }
    }

    /**
     * How the original topic is serialized and what its key is.
     *
     * @param keyColumn    the name given to the key column, or null when records have no key
     *                     ({@code KEY_FORMAT='NONE'}; key-hash routing then falls back to random)
     * @param keyType      the ksqlDB type of the key, for example {@code STRING}, {@code BIGINT}
     * @param keyFormat    for example {@code KAFKA}, {@code JSON}, {@code AVRO}, {@code NONE}
     * @param valueFormat  for example {@code JSON_SR}, {@code AVRO}, {@code PROTOBUF}, {@code JSON}
     * @param valueColumns the value columns, for example {@code ORDERID INT, ITEMID STRING}, or
     *                     null to let ksqlDB infer them from Schema Registry (JSON_SR, AVRO,
     *                     PROTOBUF); plain JSON needs them
     */
    public record SourceFormat(String keyColumn, String keyType, String keyFormat, String valueFormat,
            String valueColumns) {

        public SourceFormat {
            if (keyColumn != null) {
                requireIdentifier(keyColumn, "key column");
                if (keyType == null || !TYPE.matcher(keyType).matches()) {
                    throw new IllegalArgumentException("not a ksqlDB key type: " + keyType);
                }
            }
            requireFormat(keyFormat, "key format");
            requireFormat(valueFormat, "value format");
            if (valueColumns != null && (valueColumns.isBlank() || valueColumns.contains(";"))) {
                throw new IllegalArgumentException("value columns must be a column list such as 'ID INT, NAME STRING'");
            }
        }
    }

    // -------------------------------------------------------------------------------------------

    /**
     * The source stream over the original topic, for example
     * {@code CREATE STREAM ORDERS_CANARY_SOURCE (ORDER_KEY STRING KEY) WITH (KAFKA_TOPIC='orders', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON_SR');}
     */
    public static String createSourceStream(Names names, SourceFormat format) {
        return createSourceStream(names, format, Map.of());
    }

    /**
     * The source stream with header columns for the rules that read headers, for example
     * {@code CREATE STREAM ORDERS_CANARY_SOURCE (CANARY_KEY STRING KEY, CANARY_HEADER_1 BYTES HEADER('tenant')) WITH (...);}
     * ({@code HEADER('k')} holds the value of the record's last header {@code k}, or null).
     *
     * @param headerColumns header name to column name, in the order of the columns
     */
    public static String createSourceStream(Names names, SourceFormat format, Map<String, String> headerColumns) {
        List<String> columns = new ArrayList<>();
        if (format.keyColumn() != null) {
            columns.add(format.keyColumn() + " " + format.keyType().toUpperCase(Locale.ROOT) + " KEY");
        }
        if (format.valueColumns() != null) {
            columns.add(format.valueColumns().trim());
        }
        headerColumns.forEach((header, column) -> {
            requireIdentifier(column, "header column");
            columns.add(column + " BYTES HEADER(" + literal(header) + ")");
        });
        String columnList = columns.isEmpty() ? "" : " (" + String.join(", ", columns) + ")";
        return "CREATE STREAM " + names.sourceStream() + columnList
                + " WITH (KAFKA_TOPIC=" + literal(names.topic())
                + ", KEY_FORMAT=" + literal(format.keyFormat().toUpperCase(Locale.ROOT))
                + ", VALUE_FORMAT=" + literal(format.valueFormat().toUpperCase(Locale.ROOT)) + ");";
    }

    /**
     * The rating query: every column of the source plus {@code FOR_NEW}, for the records at or
     * after the start offset of their partition.
     *
     * @param startOffsets the start offset of every partition 0..partitions-1 (the legacy group's
     *                     committed offsets, or the chosen position of a partition it never committed)
     * @param partitions   the partition count of the original topic (and of {@code <topic>_rated})
     * @param keyColumn    the key column the key-hash routing hashes, or null (then random)
     */
    public static String createRatingStream(Names names, Map<Integer, Long> startOffsets, int partitions,
            Routing routing, double share, String keyColumn) {
        return ratingStream("CREATE STREAM ", names, startOffsets, partitions, routing, share, keyColumn);
    }

    /**
     * The same rating query with a new share, as {@code CREATE OR REPLACE}: ksqlDB keeps the
     * query id and its consumer group, so it continues where it stopped. Pass the same start
     * offsets as at creation (ksqlDB only accepts the upgrade if the rest of the query matches).
     */
    public static String replaceRatingStream(Names names, Map<Integer, Long> startOffsets, int partitions,
            Routing routing, double share, String keyColumn) {
        return ratingStream("CREATE OR REPLACE STREAM ", names, startOffsets, partitions, routing, share, keyColumn);
    }

    /** The rating query with a routing decision from {@link #routingDecision} (rules, partitions): created, or replaced. */
    public static String ratingStream(boolean replace, Names names, Map<Integer, Long> startOffsets, int partitions, String decision) {
        return ratingStream(replace ? "CREATE OR REPLACE STREAM " : "CREATE STREAM ", names, startOffsets, partitions, decision);
    }

    private static String ratingStream(String verb, Names names, Map<Integer, Long> startOffsets, int partitions,
            Routing routing, double share, String keyColumn) {
        Objects.requireNonNull(routing, "routing");
        return ratingStream(verb, names, startOffsets, partitions, decision(routing, share, keyColumn));
    }

    private static String ratingStream(String verb, Names names, Map<Integer, Long> startOffsets, int partitions, String decision) {
        return verb + names.ratedStream()
                + " WITH (KAFKA_TOPIC=" + literal(names.ratedTopic()) + ", PARTITIONS=" + partitions + ")"
                + " AS SELECT *, " + decision + " AS " + FOR_NEW
                + " FROM " + names.sourceStream()
                + " WHERE " + startCriteria(startOffsets, partitions)
                + " EMIT CHANGES;";
    }

    /**
     * The filter query writing {@code <topic>_new} ({@code forNew}) or {@code <topic>_legacy},
     * with the same partition count as the original topic.
     *
     * @param columns the columns to write (the key column first), or null/empty for {@code *};
     *                listing them keeps {@code FOR_NEW} out of the services' records
     */
    public static String createFilterStream(Names names, boolean forNew, int partitions, List<String> columns) {
        return createFilterStream(names, forNew, partitions, columns, null);
    }

    /**
     * The filter query, writing with the producers' value schema when {@code valueSchemaId} is given
     * ({@code VALUE_SCHEMA_ID}, ksqlDB 0.24+ / Confluent Platform 7.3+: the columns written must be that schema's).
     * Columns are quoted, so names in lower or mixed case, as ksqlDB infers them from the schema, stay as they are.
     */
    public static String createFilterStream(Names names, boolean forNew, int partitions, List<String> columns, Integer valueSchemaId) {
        requirePartitions(partitions);
        String stream = forNew ? names.newStream() : names.legacyStream();
        String topic = forNew ? names.newTopic() : names.legacyTopic();
        String projection = "*";
        if (columns != null && !columns.isEmpty()) {
            projection = String.join(", ", columns.stream().map(KsqlStatements::quoted).toList());
        }
        if (valueSchemaId != null && valueSchemaId < 1) {
            throw new IllegalArgumentException("not a schema id: " + valueSchemaId);
        }
        return "CREATE STREAM " + stream
                + " WITH (KAFKA_TOPIC=" + literal(topic) + ", PARTITIONS=" + partitions
                + (valueSchemaId == null ? "" : ", VALUE_SCHEMA_ID=" + valueSchemaId) + ")"
                + " AS SELECT " + projection + " FROM " + names.ratedStream()
                + " WHERE " + FOR_NEW + " = " + (forNew ? "true" : "false")
                + " EMIT CHANGES;";
    }

    /** A column name in back quotes (a back quote inside doubled). */
    static String quoted(String column) {
        if (column == null || column.isEmpty()) {
            throw new IllegalArgumentException("empty column name");
        }
        return "`" + column.replace("`", "``") + "`";
    }

    /** {@code PAUSE <queryId>;} */
    public static String pause(String queryId) {
        KsqlClient.requireQueryId(queryId);
        return "PAUSE " + queryId + ";";
    }

    /** {@code RESUME <queryId>;} */
    public static String resume(String queryId) {
        KsqlClient.requireQueryId(queryId);
        return "RESUME " + queryId + ";";
    }

    /** {@code TERMINATE <queryId>;} */
    public static String terminate(String queryId) {
        KsqlClient.requireQueryId(queryId);
        return "TERMINATE " + queryId + ";";
    }

    /** {@code DROP STREAM IF EXISTS <stream> DELETE TOPIC;} for a derived stream. */
    /**
     * The probe over the original topic: no key column (KEY_FORMAT NONE), value columns inferred from Schema Registry, for
     * example {@code CREATE STREAM ORDERS_CANARY_PROBE WITH (KAFKA_TOPIC='orders', KEY_FORMAT='NONE', VALUE_FORMAT='AVRO');}
     */
    public static String createProbeStream(Names names, SourceFormat format) {
        return "CREATE STREAM " + names.probeStream() + " WITH (KAFKA_TOPIC=" + literal(names.topic()) + ", KEY_FORMAT='NONE', VALUE_FORMAT='"
                + format.valueFormat().toUpperCase(Locale.ROOT) + "');";
    }

    /** Drops the probe, never its topic (the producers' original topic). */
    public static String dropProbeStream(Names names) {
        return "DROP STREAM IF EXISTS " + names.probeStream() + ";";
    }

    public static String dropWithTopic(String stream) {
        requireIdentifier(stream, "stream");
        return "DROP STREAM IF EXISTS " + stream + " DELETE TOPIC;";
    }

    /**
     * Every DROP, dependents first: the two filter streams and the rating stream with their
     * topics, then the source stream <em>without</em> {@code DELETE TOPIC}, because its topic is
     * the producers' original topic. Terminate the queries (ids from SHOW QUERIES EXTENDED) first
     * on servers that do not terminate them on DROP.
     */
    public static List<String> dropAll(Names names) {
        return List.of(
                dropWithTopic(names.newStream()),
                dropWithTopic(names.legacyStream()),
                dropWithTopic(names.ratedStream()),
                "DROP STREAM IF EXISTS " + names.sourceStream() + ";");
    }

    // -------------------------------------------------------------------------------------------

    /**
     * The routing decision, a BOOLEAN expression:
     * <ul>
     *   <li>random: {@code RANDOM() < 0.1}</li>
     *   <li>key-hash: the first 8 hex digits of {@code MD5(key)} read as a signed INT, taken modulo
     *       10000 into [0, 10000), compared with {@code share * 10000}; a null key falls back to
     *       random. MD5 makes the bucket depend on the key only, so a key keeps its version while
     *       the share does not drop.</li>
     * </ul>
     */
    public static String decision(Routing routing, double share, String keyColumn) {
        String random = "RANDOM() < " + formatShare(share);
        if (routing == Routing.RANDOM || keyColumn == null) {
            return random;
        }
        requireIdentifier(keyColumn, "key column");
        return "CASE WHEN " + keyColumn + " IS NULL THEN " + random
                + " ELSE " + bucket(keyColumn) + " < " + bucketThreshold(share) + " END";
    }

    /**
     * The whole routing decision: the match rules first (a legacy pin before a rule to new), then whole partitions
     * ({@code ROWPARTITION IN (0, 1)}) or the share ({@link #decision}). Without rules it is the decision alone:
     * <pre>
     * CASE WHEN (SUBSTRING(CANARY_KEY, 1, 4) = 'vip-') THEN false
     *      WHEN (FROM_BYTES(CANARY_HEADER_1, 'utf8') IN ('beta')) THEN true
     *      ELSE RANDOM() &lt; 0.1 END
     * </pre>
     * A header rule reads the header column of its header; a key rule compares the key column as text (key_type STRING).
     *
     * @param newPartitions with routing partitions, the partitions of the new version (ignored otherwise)
     * @param headerColumns header name to the source stream's column holding its last value
     */
    public static String routingDecision(Routing routing, double share, String keyColumn, List<Integer> newPartitions,
            List<Rule> rules, Map<String, String> headerColumns) {
        String base;
        if (routing == Routing.PARTITIONS) {
            Objects.requireNonNull(newPartitions, "newPartitions");
            base = newPartitions.isEmpty() ? "false"
                    : "ROWPARTITION IN (" + String.join(", ", newPartitions.stream().sorted().map(String::valueOf).toList()) + ")";
        } else {
            base = decision(routing, share, keyColumn);
        }
        if (rules == null || rules.isEmpty()) {
            return base;
        }
        List<String> toLegacy = new ArrayList<>();
        List<String> toNew = new ArrayList<>();
        for (Rule r : rules) {
            (r.to() == Role.LEGACY ? toLegacy : toNew).add("(" + condition(r, keyColumn, headerColumns) + ")");
        }
        StringBuilder sql = new StringBuilder("CASE");
        if (!toLegacy.isEmpty()) {
            sql.append(" WHEN ").append(String.join(" OR ", toLegacy)).append(" THEN false");
        }
        if (!toNew.isEmpty()) {
            sql.append(" WHEN ").append(String.join(" OR ", toNew)).append(" THEN true");
        }
        return sql.append(" ELSE ").append(base).append(" END").toString();
    }

    /** One rule as a BOOLEAN expression (null when the field is null, so the rule does not match). */
    static String condition(Rule r, String keyColumn, Map<String, String> headerColumns) {
        List<String> values = r.values().stream().map(KsqlStatements::literal).toList();
        switch (r.match()) {
            case HEADER -> {
                String column = headerColumns.get(r.header());
                if (column == null) {
                    throw new IllegalArgumentException("no header column for header '" + r.header() + "'");
                }
                requireIdentifier(column, "header column");
                return "FROM_BYTES(" + column + ", 'utf8') IN (" + String.join(", ", values) + ")";
            }
            case KEY -> {
                requireIdentifier(keyColumn, "key column");
                return keyColumn + " IN (" + String.join(", ", values) + ")";
            }
            default -> {
                requireIdentifier(keyColumn, "key column");
                List<String> prefixes = new ArrayList<>();
                for (String v : r.values()) {
                    prefixes.add("SUBSTRING(" + keyColumn + ", 1, " + v.length() + ") = " + literal(v));
                }
                return String.join(" OR ", prefixes);
            }
        }
    }

    /** The bucket of a key in [0, 10000), as a ksqlDB expression. */
    public static String bucket(String keyColumn) {
        String hash = "INT_FROM_BYTES(TO_BYTES(SUBSTRING(MD5(CAST(" + keyColumn + " AS STRING)), 1, 8), 'hex'))";
        // Java-style % keeps the sign of the dividend: shift into [0, BUCKETS) without ABS overflow
        return "((" + hash + " % " + Routing.BUCKETS + ") + " + Routing.BUCKETS + ") % " + Routing.BUCKETS;
    }

    /** The number of buckets that go to the new version: round(share * 10000). */
    public static long bucketThreshold(double share) {
        requireShare(share);
        return Routing.threshold(share);
    }

    /**
     * The share as a SQL literal, independent of the JVM's locale and without exponent:
     * 0.1 gives {@code 0.1}, 1e-4 gives {@code 0.0001}, 1.0 gives {@code 1}.
     */
    public static String formatShare(double share) {
        requireShare(share);
        String plain = BigDecimal.valueOf(share).stripTrailingZeros().toPlainString();
        return plain.equals("-0") ? "0" : plain;
    }

    /**
     * {@code (ROWPARTITION = 0 AND ROWOFFSET >= 42) OR (ROWPARTITION = 1 AND ROWOFFSET >= 0) ...}
     * in partition order.
     */
    public static String startCriteria(Map<Integer, Long> startOffsets, int partitions) {
        requirePartitions(partitions);
        Objects.requireNonNull(startOffsets, "startOffsets");
        TreeMap<Integer, Long> sorted = new TreeMap<>(startOffsets);
        List<Integer> missing = new ArrayList<>();
        for (int p = 0; p < partitions; p++) {
            if (!sorted.containsKey(p)) {
                missing.add(p);
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("no start offset for partition(s) " + missing
                    + ": every partition needs one, or its records would never be routed");
        }
        if (sorted.lastKey() >= partitions || sorted.firstKey() < 0) {
            throw new IllegalArgumentException("start offsets name partitions outside 0.." + (partitions - 1)
                    + ": " + sorted.keySet());
        }
        List<String> parts = new ArrayList<>();
        sorted.forEach((partition, offset) -> {
            if (offset == null || offset < 0) {
                throw new IllegalArgumentException("start offset of partition " + partition + " must be >= 0, got " + offset);
            }
            parts.add("(ROWPARTITION = " + partition + " AND ROWOFFSET >= " + offset + ")");
        });
        return String.join(" OR ", parts);
    }

    // -------------------------------------------------------------------------------------------

    private static void requireShare(double share) {
        if (Double.isNaN(share) || share < 0 || share > 1) {
            throw new IllegalArgumentException("share must be between 0 and 1, got " + share);
        }
    }

    private static void requirePartitions(int partitions) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1, got " + partitions);
        }
    }

    private static void requireTopic(String topic) {
        if (topic == null || !KAFKA_TOPIC.matcher(topic).matches() || topic.equals(".") || topic.equals("..")) {
            throw new IllegalArgumentException("not a Kafka topic name: " + topic);
        }
    }

    private static void requireIdentifier(String name, String what) {
        if (name == null || !IDENTIFIER.matcher(name).matches()) {
            throw new IllegalArgumentException("not a ksqlDB " + what + " name: " + name);
        }
    }

    private static void requireFormat(String format, String what) {
        if (format == null || !FORMAT.matcher(format).matches()) {
            throw new IllegalArgumentException("not a ksqlDB " + what + ": " + format);
        }
    }

    /** A single-quoted SQL string literal. */
    static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
