package canary.engine.ksqldb;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.databind.JsonNode;

import canary.common.Text;
import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.context.Context.EngineKind;
import canary.context.Routing;
import canary.context.Rule;
import canary.engine.ksqldb.KsqlClient.KsqlQuery;
import canary.engine.ksqldb.KsqlStatements.Names;
import canary.engine.ksqldb.KsqlStatements.SourceFormat;
import canary.kafka.KafkaCluster;
import canary.release.Engine;
import canary.release.Integrity;
import canary.release.Lag;
import canary.release.MigrationState;

/**
 * The ksqlDB engine: the original design, with its defects fixed. Three persistent queries on a
 * ksqlDB server route the original topic:
 * <pre>
 * original topic --> source stream --> rating query --> &lt;topic&gt;_rated (+ FOR_NEW)
 *                                      filter query --> &lt;topic&gt;_legacy (FOR_NEW = false)
 *                                      filter query --> &lt;topic&gt;_new    (FOR_NEW = true)
 * </pre>
 * <ul>
 *   <li>The rating query keeps records with {@code ROWOFFSET >= start} of their partition: a
 *       committed offset is the next record to process. The queries run as soon as they are
 *       created; that criterion, not the moment they start, decides where routing begins.</li>
 *   <li>Query ids and consumer groups come from {@code SHOW QUERIES EXTENDED}, never from naming
 *       rules; they are kept in the state under {@code rating}, {@code legacy}, {@code new} and
 *       {@code rating.group}, {@code legacy.group}, {@code new.group}.</li>
 *   <li>Pausing pauses the rating query, then waits until the two filter queries' groups have
 *       processed every record of {@code <topic>_rated} (the original waited only for the services).</li>
 *   <li>The hand-over position is the rating query group's committed offsets on the original topic,
 *       once they have stopped moving (never a sum of derived-topic offsets).</li>
 *   <li>Match rules and whole partitions are the rating query's {@code FOR_NEW} expression
 *       ({@link KsqlStatements#routingDecision}); a header rule reads a {@code HEADER('name')} column that the
 *       migration declares in the source stream for each header its rules read (kept in the state as
 *       {@code header.<name>}). Those columns, like {@code FOR_NEW}, stay in {@code <topic>_rated}: the filter queries
 *       select the key and the source's value columns only, with the producers' schema id when the context gives it.</li>
 * </ul>
 */
public final class KsqlEngine implements Engine {

    /** The name the source stream gives the record key. */
    public static final String KEY_COLUMN = "CANARY_KEY";

    /** Keys of the map {@link #create} returns (kept in the state). */
    static final String RATING = "rating";
    static final String LEGACY = "legacy";
    static final String NEW = "new";
    static final String GROUP = ".group";

    /** Prefix of the state's entries naming a header column: {@code header.tenant -> CANARY_HEADER_1}. */
    static final String HEADER = "header.";

    /** Header columns of the source stream are this prefix and a number. */
    static final String HEADER_COLUMN = "CANARY_HEADER_";

    /** Value formats whose columns ksqlDB can infer from Schema Registry: the context names no columns. */
    static final Set<String> INFERRED_VALUE_FORMATS = Set.of("JSON_SR", "AVRO", "PROTOBUF");

    private final Context ctx;
    private final KafkaCluster cluster;
    private final KsqlClient client;
    private final Waits.Progress progress;
    private final Names names;
    private final Duration settle;
    private final Duration positionTimeout;
    /** Set by {@link #preflight}: a query created without exactly-once is accepted with a warning. */
    private boolean atLeastOnceAccepted;

    /**
     * @param settle          how often {@link #position} reads the rating group's committed offsets, and how much longer than
     *                        the server's commit interval they must stay unchanged
     * @param positionTimeout the longest {@link #position} waits for them to stop moving
     */
    public KsqlEngine(Context ctx, KafkaCluster cluster, KsqlClient client, Waits.Progress progress,
                      Duration settle, Duration positionTimeout) {
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.cluster = Objects.requireNonNull(cluster, "cluster");
        this.client = Objects.requireNonNull(client, "client");
        this.progress = progress;
        this.names = Names.of(ctx.topic());
        this.settle = settle;
        this.positionTimeout = positionTimeout;
    }

    public KsqlEngine(Context ctx, KafkaCluster cluster, KsqlClient client, Waits.Progress progress) {
        this(ctx, cluster, client, progress, Duration.ofMillis(500), Duration.ofMinutes(2));
    }

    /** The client of a context's {@code ksqldb} section (endpoint, API key and secret already resolved). */
    public static KsqlClient client(Context ctx) {
        Context.KsqlConnection k = ctx.ksqldb().orElseThrow(() -> new UserException(ctx.file()
                + ": key 'ksqldb': required with engine ksqldb (endpoint, api_key, api_secret)"));
        java.net.URI uri;
        try {
            uri = java.net.URI.create(k.endpoint());
        } catch (IllegalArgumentException e) {
            throw new UserException(ctx.file() + ": key 'ksqldb.endpoint': not a URL: " + Text.firstLine(e.getMessage()));
        }
        return new KsqlClient(uri, k.apiKey().orElse(null), k.apiSecret().orElse(null));
    }

    @Override
    public EngineKind kind() {
        return EngineKind.KSQLDB;
    }

    Names names() {
        return names;
    }

    // ------------------------------------------------------------------ preflight

    @Override
    public void preflight(MigrationState planned, boolean allowAtLeastOnce) {
        preflight(planned, allowAtLeastOnce, false);
    }

    @Override
    public void preflight(MigrationState planned, boolean allowAtLeastOnce, boolean dryRun) {
        sourceFormat();
        checkRouting(planned, planned);
        // GET /info: reachable, credentials accepted, new enough for PAUSE/RESUME and for the header columns of the rules;
        // with key-hash routing, DESCRIBE FUNCTION MD5.
        requireVersion(planned);
        Map<String, String> properties = client.showProperties();
        atLeastOnceAccepted = allowAtLeastOnce;
        if (!KsqlClient.isExactlyOnce(properties)) {
            progress.accept("ksqlDB at " + client.endpoint() + " runs queries with processing.guarantee "
                    + KsqlClient.processingGuarantee(properties).orElse("(not reported)") + " by default: each query of this"
                    + " migration asks for " + KsqlStatements.EXACTLY_ONCE_V2 + " and is checked once created");
        }
        if (dryRun) {
            progress.accept("dry run: the value columns of " + ctx.topic() + " are not checked (that needs a probe stream on ksqlDB);"
                    + " the migration checks them before it changes anything");
            return;
        }
        requireFreeColumnNames(valueColumns());
    }

    /**
     * Names the rating query gives columns of its own ({@link #KEY_COLUMN}, {@code FOR_NEW}) and ksqlDB's pseudo-columns: a
     * value column of the original topic with one of these names would clash.
     */
    static final List<String> RESERVED_COLUMNS = List.of(KEY_COLUMN, KsqlStatements.FOR_NEW, "ROWTIME", "ROWPARTITION", "ROWOFFSET");

    /**
     * The value columns ksqlDB infers from Schema Registry for the original topic, read through a probe stream that is created
     * (no key column, so nothing clashes), described and dropped at once (without its topic).
     */
    List<String> valueColumns() {
        SourceFormat format = sourceFormat();
        try {
            client.execute(KsqlStatements.createProbeStream(names, format));
            return client.valueColumns(names.probeStream());
        } finally {
            client.execute(KsqlStatements.dropProbeStream(names));
        }
    }

    /** Refuses in one line value columns whose names the canary or ksqlDB use. */
    void requireFreeColumnNames(List<String> valueColumns) {
        List<String> clash = valueColumns.stream().filter(c -> RESERVED_COLUMNS.contains(c) || c.startsWith(HEADER_COLUMN)).toList();
        if (!clash.isEmpty()) {
            throw new UserException("the value schema of " + ctx.topic() + " (as ksqlDB infers it from Schema Registry) has the column(s) "
                    + String.join(", ", clash) + ": engine ksqldb names columns " + String.join(", ", RESERVED_COLUMNS) + " and "
                    + HEADER_COLUMN + "<n> itself, so its queries would clash; use engine router for this topic");
        }
    }

    /**
     * Refuses, in one line naming every feature it lacks and the version that has it, a server too old for PAUSE/RESUME or,
     * when the rules read headers, for header columns beside a value schema from Schema Registry.
     */
    private void requireVersion(MigrationState planned) {
        String version = client.info().version();
        List<String> cannot = new ArrayList<>();
        if (!KsqlClient.supportsPauseResume(version)) {
            cannot.add("PAUSE and RESUME a query: PAUSE/RESUME need ksqlDB " + KsqlClient.PAUSE_RESUME_MIN_VERSION
                    + " or newer (Confluent Platform 7.3+)");
        }
        List<String> headers = headerNames(planned.rules());
        if (!headers.isEmpty() && !KsqlClient.supportsHeaderColumns(version)) {
            cannot.add("read the record header(s) " + String.join(", ", headers.stream().map(h -> "'" + h + "'").toList())
                    + " the rules match: header columns beside a value schema from Schema Registry need ksqlDB "
                    + KsqlClient.HEADER_COLUMNS_MIN_VERSION + " or newer (Confluent Platform 7.3+)");
        }
        if (cannot.isEmpty() && routing(planned) == Routing.KEY_HASH && !client.hasFunction("MD5")) {
            // asked, not inferred from the version: Confluent Cloud reports versions that are not release numbers
            cannot.add("hash the key: key-hash routing needs the MD5 function (DESCRIBE FUNCTION MD5 finds none), which came in"
                    + " Confluent Platform " + KsqlClient.MD5_MIN_VERSION + " (no ksqlDB 0.x release has it); use routing random or"
                    + " partitions on this server");
        }
        if (!cannot.isEmpty()) {
            throw new KsqlException(KsqlException.Kind.UNSUPPORTED, "ksqlDB at " + client.endpoint() + " is version " + version
                    + ", which cannot " + String.join("; and cannot ", cannot));
        }
    }

    /** The distinct header names the rules read, in the order they first appear. */
    static List<String> headerNames(List<Rule> rules) {
        return rules.stream().filter(Rule::readsHeader).map(Rule::header).distinct().toList();
    }

    /**
     * The source stream's columns for headers: the ones create declared (kept in the state as {@code header.<name>}), or for
     * a migration not created yet those its rules read, as {@code CANARY_HEADER_1}, {@code _2}, ...
     */
    static Map<String, String> headerColumns(MigrationState state) {
        Map<String, String> kept = new LinkedHashMap<>();
        Map<String, String> ids = state.queryIds() == null ? Map.of() : state.queryIds();
        ids.entrySet().stream().filter(e -> e.getKey().startsWith(HEADER))
                .sorted(java.util.Comparator.comparing((Map.Entry<String, String> e) -> e.getValue().length()).thenComparing(Map.Entry::getValue))
                .forEach(e -> kept.put(e.getKey().substring(HEADER.length()), e.getValue()));
        if (!kept.isEmpty() || ids.containsKey(RATING)) {
            return kept;
        }
        Map<String, String> planned = new LinkedHashMap<>();
        for (String h : headerNames(state.rules())) {
            planned.put(h, HEADER_COLUMN + (planned.size() + 1));
        }
        return planned;
    }

    /** The source stream's key and formats from the context; refuses what ksqlDB cannot read without column declarations. */
    SourceFormat sourceFormat() {
        String valueFormat = ctx.valueFormat().toUpperCase(Locale.ROOT);
        if (!INFERRED_VALUE_FORMATS.contains(valueFormat)) {
            throw new UserException(ctx.file() + ": key 'value_format': engine ksqldb needs a format whose schema is in Schema Registry "
                    + "(JSON_SR, AVRO or PROTOBUF) so that ksqlDB knows the columns; got " + valueFormat);
        }
        boolean keyless = ctx.keyFormat().equalsIgnoreCase("NONE");
        try {
            return new SourceFormat(keyless ? null : KEY_COLUMN, ctx.keyType(), ctx.keyFormat(), valueFormat, null);
        } catch (IllegalArgumentException e) {
            throw new UserException(ctx.file() + ": keys 'key_type', 'key_format', 'value_format': " + e.getMessage());
        }
    }

    private String keyColumn() {
        return ctx.keyFormat().equalsIgnoreCase("NONE") ? null : KEY_COLUMN;
    }

    private Routing routing(MigrationState state) {
        return state.routing();
    }

    // ------------------------------------------------------------------ create

    @Override
    public Map<String, String> create(MigrationState state, Map<Integer, Long> startOffsets, Duration timeout) {
        SourceFormat format = sourceFormat();
        int partitions = startOffsets.size();
        List<String> plan = new ArrayList<>();
        List<String> streams = new ArrayList<>();
        Map<String, String> headers = headerColumns(state.withQueryIds(Map.of()));
        plan.add(KsqlStatements.createSourceStream(names, format, headers));
        streams.add(names.sourceStream());
        plan.add(KsqlStatements.ratingStream(false, names, startOffsets, partitions, decision(state, headers)));
        streams.add(names.ratedStream());
        plan.add(null); // the filter queries project the source's columns, read once the source stream exists
        streams.add(names.legacyStream());
        plan.add(null);
        streams.add(names.newStream());
        Integer schemaId = ctx.ksqldb().flatMap(Context.KsqlConnection::valueSchemaId).orElse(null);
        List<String> projection = new ArrayList<>();

        Set<String> existing = existingStreams();
        List<String> created = new ArrayList<>();
        List<String> topics = createTopicsLikeOriginal(partitions, existing);
        try {
            for (int i = 0; i < plan.size(); i++) {
                String stream = streams.get(i);
                if (existing.contains(stream.toUpperCase(Locale.ROOT))) {
                    progress.accept("stream " + stream + " already exists on ksqlDB");
                    continue;
                }
                if (plan.get(i) == null) {
                    if (projection.isEmpty()) {
                        projection.addAll(originalColumns(schemaId));
                    }
                    plan.set(i, KsqlStatements.createFilterStream(names, stream.equals(names.newStream()), partitions, projection, schemaId));
                }
                String statement = plan.get(i);
                runDeciding(() -> client.execute(statement, KsqlStatements.QUERY_PROPERTIES), "create stream " + stream,
                        () -> existingStreams().contains(stream.toUpperCase(Locale.ROOT)));
                created.add(stream);
                progress.accept("created stream " + stream);
            }
            List<KsqlQuery> queries = client.showQueriesExtended();
            Map<String, String> ids = queryIds(queries);
            requireExactlyOnce(queries, ids);
            progress.accept("queries: rating " + ids.get(RATING) + ", legacy " + ids.get(LEGACY) + ", new " + ids.get(NEW));
            headers.forEach((header, column) -> ids.put(HEADER + header, column));
            return ids;
        } catch (RuntimeException e) {
            undoCreate(created, e);
            try {
                cluster.deleteTopics(topics);
            } catch (RuntimeException again) {
                progress.accept("could not delete the topics created for the streams (" + Text.firstLine(again.getMessage()) + "): "
                        + String.join(", ", topics) + " may be left");
            }
            throw e;
        }
    }

    /**
     * ksqlDB gives a sink topic the source's partitions and replicas but the broker's default configs: the rated and the derived
     * topics are created here first like the original (partitions, replication factor, the configs that matter, as the router
     * engine creates its derived topics), and ksqlDB writes to them as they are. Where the kit may not (no right to create or
     * describe), ksqlDB creates them as before, with a line saying so.
     *
     * @return the topics created now
     */
    private List<String> createTopicsLikeOriginal(int partitions, Set<String> existing) {
        List<String> made = new ArrayList<>();
        Map<String, String> topicOf = new java.util.LinkedHashMap<>();
        topicOf.put(names.ratedStream(), names.ratedTopic());
        topicOf.put(names.legacyStream(), names.legacyTopic());
        topicOf.put(names.newStream(), names.newTopic());
        try {
            KafkaCluster.TopicShape shape = cluster.shapeOf(ctx.topic()).withPartitions(partitions);
            for (Map.Entry<String, String> e : topicOf.entrySet()) {
                if (!existing.contains(e.getKey().toUpperCase(Locale.ROOT)) && cluster.createTopic(e.getValue(), shape)) {
                    made.add(e.getValue());
                    progress.accept("created topic " + e.getValue() + " like " + ctx.topic() + " (" + shape.describe() + ")");
                }
            }
        } catch (UserException e) {
            progress.accept("warning: the kit could not create the topics of the streams like " + ctx.topic() + " ("
                    + Text.firstLine(e.getMessage()) + "): ksqlDB creates them with the source's partitions and replicas and the"
                    + " broker's default configs");
        }
        return made;
    }

    /**
     * What the filter queries write: the key column and the source stream's value columns (as DESCRIBE lists them), never
     * {@code FOR_NEW} or the header columns, so the versions receive the producers' columns. Without the producers' schema
     * id, says that ksqlDB registers a schema of its own for the versions' topics.
     */
    private List<String> originalColumns(Integer schemaId) {
        List<String> columns = new ArrayList<>();
        if (keyColumn() != null) {
            columns.add(KEY_COLUMN);
        }
        List<String> values = client.valueColumns(names.sourceStream()).stream().filter(c -> !c.startsWith(HEADER_COLUMN)).toList();
        if (values.isEmpty()) {
            throw new UserException(UserException.ENVIRONMENT, "ksqlDB at " + client.endpoint() + " infers no value column for "
                    + ctx.topic() + " (DESCRIBE " + names.sourceStream() + "): is a value schema registered for it in Schema Registry?");
        }
        columns.addAll(values);
        if (schemaId == null) {
            progress.accept("warning: ksqldb.value_schema_id is not set: ksqlDB registers a value"
                    + " schema of its own for " + ctx.legacyTopic() + " and " + ctx.newTopic() + " (the same columns; for Avro the"
                    + " record name KsqlDataSourceSchema and every field optional); set it to the producers' schema id to keep theirs");
        }
        return columns;
    }

    /**
     * Checks that each of the three queries was created with exactly-once (its overridden properties in SHOW QUERIES
     * EXTENDED): a crash under at-least-once can route a record to both versions. Refused unless --allow-at-least-once.
     */
    private void requireExactlyOnce(List<KsqlQuery> queries, Map<String, String> ids) {
        List<String> without = new ArrayList<>();
        for (String role : List.of(RATING, LEGACY, NEW)) {
            KsqlQuery q = queries.stream().filter(x -> x.queryId().equals(ids.get(role))).findFirst().orElseThrow();
            String g = q.processingGuarantee().orElse("the server's default");
            if (!g.toLowerCase(Locale.ROOT).startsWith("exactly_once")) {
                without.add(q.queryId() + " (" + g + ")");
            }
        }
        if (without.isEmpty()) {
            progress.accept("each query runs with processing.guarantee " + KsqlStatements.EXACTLY_ONCE_V2);
            return;
        }
        String why = "ksqlDB at " + client.endpoint() + " runs the queries " + String.join(", ", without) + " without "
                + KsqlStatements.PROCESSING_GUARANTEE + "=" + KsqlStatements.EXACTLY_ONCE_V2
                + ": a crash under at-least-once can route a record to both versions";
        if (!atLeastOnceAccepted) {
            throw new UserException(why + "; the server did not keep the per-query setting: set"
                    + " ksql.streams.processing.guarantee=exactly_once_v2 on the server, or accept it with --allow-at-least-once");
        }
        progress.accept("warning: " + why + " (accepted with --allow-at-least-once)");
    }

    /** Drops what one create call made, dependents first, so that a failed migration leaves nothing half-created. */
    private void undoCreate(List<String> created, RuntimeException cause) {
        if (created.isEmpty()) {
            return;
        }
        progress.accept("ksqlDB refused a step (" + Text.firstLine(cause.getMessage()) + "): dropping the streams this migration created");
        List<String> reversed = new ArrayList<>(created);
        java.util.Collections.reverse(reversed);
        for (String stream : reversed) {
            String drop = stream.equals(names.sourceStream())
                    ? "DROP STREAM IF EXISTS " + stream + ";"
                    : KsqlStatements.dropWithTopic(stream);
            try {
                client.execute(drop);
            } catch (RuntimeException e) {
                cause.addSuppressed(e);
                progress.accept("could not drop " + stream + " (" + Text.firstLine(e.getMessage()) + "): rollback removes it");
            }
        }
    }

    private Set<String> existingStreams() {
        Set<String> out = new java.util.HashSet<>();
        for (JsonNode entity : client.execute("SHOW STREAMS;")) {
            for (JsonNode s : entity.path("streams")) {
                out.add(s.path("name").asText().toUpperCase(Locale.ROOT));
            }
        }
        return out;
    }

    /** Ids and consumer groups of the three queries, as SHOW QUERIES EXTENDED reports them. */
    Map<String, String> queryIds(List<KsqlQuery> queries) {
        Map<String, String> ids = new LinkedHashMap<>();
        Map<String, String> sinks = Map.of(RATING, names.ratedStream(), LEGACY, names.legacyStream(), NEW, names.newStream());
        for (String role : List.of(RATING, LEGACY, NEW)) {
            KsqlQuery q = queries.stream().filter(x -> x.writes(sinks.get(role))).findFirst()
                    .orElseThrow(() -> new UserException(UserException.ENVIRONMENT, "ksqlDB at " + client.endpoint()
                            + " lists no query writing " + sinks.get(role) + " (SHOW QUERIES EXTENDED)"));
            if (q.consumerGroupId() == null || q.consumerGroupId().isBlank()) {
                throw new UserException(UserException.ENVIRONMENT, "ksqlDB at " + client.endpoint() + " reports no consumerGroupId for query "
                        + q.queryId() + " (SHOW QUERIES EXTENDED): the hand-over needs it");
            }
            ids.put(role, q.queryId());
            ids.put(role + GROUP, q.consumerGroupId());
        }
        return ids;
    }

    /** The ids kept in the state, or (for a state without them) those the server reports now. */
    private Map<String, String> ids(MigrationState state) {
        Map<String, String> kept = state.queryIds() == null ? Map.of() : state.queryIds();
        if (kept.keySet().containsAll(List.of(RATING, LEGACY, NEW, RATING + GROUP, LEGACY + GROUP, NEW + GROUP))) {
            return kept;
        }
        return queryIds(client.showQueriesExtended());
    }

    private KsqlQuery query(String queryId) {
        return client.showQueriesExtended().stream().filter(q -> q.queryId().equals(queryId)).findFirst()
                .orElseThrow(() -> new UserException(UserException.ENVIRONMENT, "ksqlDB at " + client.endpoint() + " has no query "
                        + queryId + " (the rating query of this migration): roll back to give " + ctx.topic() + " back to the legacy version"));
    }

    // ------------------------------------------------------------------ resume / pause

    @Override
    public void resume(MigrationState state, Duration timeout) {
        String rating = ids(state).get(RATING);
        KsqlQuery q = query(rating);
        if (!q.running()) {
            runDeciding(() -> client.resume(rating), "resume " + rating, () -> query(rating).statusCount().containsKey("RUNNING"));
            progress.accept("resumed the rating query " + rating);
        }
        Waits.untilNothingLeft("the rating query " + rating + " runs on every ksqlDB server", timeout, progress, () -> {
            KsqlQuery now = query(rating);
            failOnError(now);
            return now.running() ? null : "status " + now.statusCount();
        });
    }

    @Override
    public void pause(MigrationState state, Duration timeout) {
        Map<String, String> ids = ids(state);
        String rating = ids.get(RATING);
        KsqlQuery q = query(rating);
        if (!q.paused()) {
            runDeciding(() -> client.pause(rating), "pause " + rating, () -> query(rating).statusCount().containsKey("PAUSED"));
            progress.accept("paused the rating query " + rating);
            Waits.untilNothingLeft("the rating query " + rating + " is paused on every ksqlDB server", timeout, progress, () -> {
                KsqlQuery now = query(rating);
                failOnError(now);
                return now.paused() ? null : "status " + now.statusCount();
            });
        }
        // the filter queries read committed: a transaction of the rating query still open on <topic>_rated hides records from them
        Waits.untilNothingLeft("every transaction of the rating query on " + ctx.ratedTopic() + " is committed or aborted", timeout,
                progress, () -> undecidedOnRated());
        for (String role : List.of(LEGACY, NEW)) {
            String group = ids.get(role + GROUP);
            Waits.untilNothingLeft("the " + role + " filter query " + ids.get(role) + " has processed every record of " + ctx.ratedTopic(),
                    timeout, progress, () -> Lag.remaining(role + " filter query", cluster.unprocessed(group, ctx.ratedTopic(), timeout)));
        }
    }

    /**
     * Sends a statement that changes something. When ksqlDB's answer leaves open whether it ran (a 5xx, no answer: the
     * client does not repeat such statements), reads the server's state with {@code ran} and sends it again only if it did
     * not run.
     */
    private void runDeciding(Runnable send, String what, java.util.function.BooleanSupplier ran) {
        try {
            send.run();
        } catch (KsqlException e) {
            if (e.kind() != KsqlException.Kind.AMBIGUOUS) {
                throw e;
            }
            progress.accept(Text.firstLine(e.getMessage()) + "; reading the server's state to decide");
            if (ran.getAsBoolean()) {
                progress.accept("the server shows it ran (" + what + "): not sent again");
                return;
            }
            progress.accept("the server shows it did not run (" + what + "): sending it again");
            send.run();
        }
    }

    /** Two statements compare equal whatever their spacing and final semicolon. */
    static boolean sameStatement(String a, String b) {
        java.util.function.UnaryOperator<String> norm = t -> t == null ? "" : t.trim().replaceAll("\\s+", " ").replaceAll(";$", "");
        return norm.apply(a).equalsIgnoreCase(norm.apply(b));
    }

    private void failOnError(KsqlQuery q) {
        if (q.statusCount().getOrDefault("ERROR", 0) > 0) {
            throw new UserException(UserException.ENVIRONMENT, "the query " + q.queryId() + " is in ERROR on ksqlDB at " + client.endpoint()
                    + " (status " + q.statusCount() + "): see EXPLAIN " + q.queryId() + " on the server");
        }
    }

    // ------------------------------------------------------------------ share

    /**
     * Key rules compare the key column as text: they need one of type STRING. Header rules read the header columns of the
     * source stream, which a migration declares for the headers its rules read then: a rule on another header needs a new
     * migration (a source stream's columns cannot change under a running query that selects all of them).
     */
    @Override
    public void checkRouting(MigrationState current, MigrationState next) {
        boolean keyRules = next.rules().stream().anyMatch(r -> !r.readsHeader());
        if (keyRules && keyColumn() == null) {
            throw new UserException(ctx.file() + ": the records have no key (key_format NONE): engine ksqldb cannot apply key rules");
        }
        if (keyRules && !ctx.keyType().equals("STRING") && !ctx.keyType().equals("VARCHAR")) {
            throw new UserException("key rules compare the key as text: engine ksqldb needs key_type STRING (the context has "
                    + ctx.keyType() + ")");
        }
        Map<String, String> declared = headerColumns(current);
        List<String> missing = headerNames(next.rules()).stream().filter(h -> !declared.containsKey(h)).toList();
        if (!missing.isEmpty()) {
            throw new UserException("engine ksqldb reads only the headers its source stream declared at migration ("
                    + (declared.isEmpty() ? "none" : String.join(", ", declared.keySet())) + "): a rule on header "
                    + String.join(", ", missing) + " needs a migration that starts with it (roll back, then migrate with --rule)");
        }
    }

    /** The rating query's routing decision for {@code state}: its rules, then its partitions or its share. */
    private String decision(MigrationState state, Map<String, String> headers) {
        return KsqlStatements.routingDecision(routing(state), state.share(), keyColumn(), state.newPartitions(), state.rules(), headers);
    }

    /**
     * {@code CREATE OR REPLACE} of the rating query. ksqlDB builds the replacement as a new query object that starts running,
     * even when the old one was paused: routing resumes with this statement, so the caller writes {@code next} to the state
     * (run flag on) before calling this.
     */
    @Override
    public void applyRouting(MigrationState next) {
        Map<Integer, Long> start = next.startOffsets();
        String replace = KsqlStatements.ratingStream(true, names, start, start.size(), decision(next, headerColumns(next)));
        // after an unclear answer: the replace ran if the rating query now runs this very statement
        runDeciding(() -> client.execute(replace, KsqlStatements.QUERY_PROPERTIES), "replace the rating query",
                () -> client.showQueriesExtended().stream().anyMatch(q -> q.writes(names.ratedStream())
                        && sameStatement(q.queryString(), replace)));
        progress.accept("replaced the rating query: share " + Text.percent(next.share()) + " to the new version"
                + (next.newPartitions() == null ? "" : " (partitions " + next.newPartitions() + ")")
                + (next.rules().isEmpty() ? "" : ", rules " + Rule.describeAll(next.rules()))
                + "; the replace restarted the rating query (a replaced query runs even if it was paused)");
    }

    // ------------------------------------------------------------------ position and counts

    /**
     * The rating query group's committed offsets on the original topic, once no transaction is undecided on
     * {@code <topic>_rated} and the offsets have not moved for longer than the server's commit interval
     * ({@code ksql.streams.commit.interval.ms} from SHOW PROPERTIES, plus {@code settle}): a paused query's tasks still
     * commit, so its offsets can move for about one interval after PAUSE. A partition where the group is still below the
     * start offset (or has committed nothing) has routed nothing yet: its position is the start offset, never lower, or the
     * surviving version would process again records legacy had already processed.
     */
    @Override
    public Map<Integer, Long> position(MigrationState state) {
        String group = routingGroup(state);
        Duration interval = KsqlClient.commitInterval(client.showProperties());
        long window = interval.plus(settle).toNanos();
        AtomicReference<Map<Integer, Long>> last = new AtomicReference<>(cluster.committedOffsets(group, ctx.topic()));
        long[] unchangedSince = {System.nanoTime()};
        Waits.untilNothingLeft("the committed offsets of the rating query group " + group + " on " + ctx.topic()
                        + " stay unchanged for longer than the server's commit interval (" + interval.toMillis() + " ms)",
                positionTimeout, progress, () -> {
                    sleep(settle);
                    Map<Integer, Long> now = cluster.committedOffsets(group, ctx.topic());
                    if (!now.equals(last.get())) {
                        last.set(now);
                        unchangedSince[0] = System.nanoTime();
                        return "still moving: " + now;
                    }
                    String open = undecidedOnRated();
                    if (open != null) {
                        unchangedSince[0] = System.nanoTime();
                        return open;
                    }
                    long unchanged = System.nanoTime() - unchangedSince[0];
                    return unchanged > window ? null
                            : "unchanged for " + Duration.ofNanos(unchanged).toMillis() + " of " + Duration.ofNanos(window).toMillis() + " ms";
                });
        Map<Integer, Long> out = new TreeMap<>();
        state.startOffsets().forEach((p, start) -> out.put(p, Math.max(start, last.get().getOrDefault(p, start))));
        return out;
    }

    /** What is undecided on {@code <topic>_rated} (a transaction open, or its markers not written), or null. */
    private String undecidedOnRated() {
        Map<Integer, Long> open = cluster.undecided(ctx.ratedTopic());
        return open.isEmpty() ? null : "undecided transaction(s) on " + ctx.ratedTopic() + ", offsets per partition " + open;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(Math.max(1, d.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException(UserException.ENVIRONMENT, "interrupted");
        }
    }

    @Override
    public Integrity count(MigrationState state, Duration timeout) {
        return Integrity.of(ctx.ratedTopic(), cluster.countAll(ctx.ratedTopic(), timeout), cluster.countAll(ctx.legacyTopic(), timeout),
                cluster.countAll(ctx.newTopic(), timeout));
    }

    // ------------------------------------------------------------------ remove

    /**
     * Drops the three derived streams with {@code DELETE TOPIC} (dependents first; a DROP ends the
     * query writing the stream) and the source stream without it (its topic is the producers').
     */
    @Override
    public void remove(MigrationState state, Duration timeout) {
        for (String drop : KsqlStatements.dropAll(names)) {
            client.execute(drop);
        }
        progress.accept("dropped the ksqlDB streams " + names.newStream() + ", " + names.legacyStream() + ", " + names.ratedStream()
                + " (with their topics) and " + names.sourceStream());
    }

    @Override
    public String routingGroup(MigrationState state) {
        return ids(state).get(RATING + GROUP);
    }

    @Override
    public String describeInstances(MigrationState state) {
        try {
            List<KsqlQuery> queries = client.showQueriesExtended();
            List<String> parts = new ArrayList<>();
            Map<String, String> sinks = new LinkedHashMap<>();
            sinks.put(RATING, names.ratedStream());
            sinks.put(LEGACY, names.legacyStream());
            sinks.put(NEW, names.newStream());
            sinks.forEach((role, sink) -> {
                Optional<KsqlQuery> q = queries.stream().filter(x -> x.writes(sink)).findFirst();
                parts.add(role + " " + q.map(x -> x.queryId() + " " + x.statusCount()).orElse("missing"));
            });
            return "ksqlDB at " + client.endpoint() + ": " + String.join(", ", parts);
        } catch (RuntimeException e) {
            UserException known = UserException.in(e);
            return "ksqlDB at " + client.endpoint() + ": " + (known != null ? known.getMessage() : Text.firstLine(e.getMessage()));
        }
    }

    @Override
    public void close() {
        // the client holds no connection to close; the cluster belongs to the caller
    }
}
