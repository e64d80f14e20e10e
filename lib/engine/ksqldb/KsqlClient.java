package canary.engine.ksqldb;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.channels.UnresolvedAddressException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import canary.common.Durations;
import canary.common.Text;

/**
 * A client for ksqlDB's REST API ({@code /ksql}, {@code /info}, {@code /healthcheck}) built on
 * {@code java.net.http} and Jackson, because the ksqldb-api-client jar is not on Maven Central.
 *
 * <ul>
 *   <li>Every request sends {@code Accept} and {@code Content-Type: application/vnd.ksql.v1+json}
 *       and, when an API key is given, {@code Authorization: Basic ...}.</li>
 *   <li>The client remembers the highest {@code commandSequenceNumber} ksqlDB returned and sends
 *       it with the next {@code /ksql} request, so a statement waits until the server has run the
 *       earlier ones (for example a filter query over a stream created by the previous call).</li>
 *   <li>Only what is safe to repeat is retried, a bounded number of times with exponential backoff: a request that never
 *       left (connection refused, unknown host, no connection), GETs, and statements that change nothing or are
 *       idempotent ({@code SHOW}, {@code DESCRIBE}, {@code LIST}, {@code EXPLAIN}, {@code DROP ... IF EXISTS}). A statement
 *       that changes something and gets a 5xx or no answer is not repeated: it fails with
 *       {@link KsqlException.Kind#AMBIGUOUS}, and the caller reads the server's state to decide. 4xx answers are not
 *       retried.</li>
 *   <li>Errors become a {@link KsqlException} with one line for the user.</li>
 * </ul>
 *
 * <p>A {@code CREATE} repeated after a 5xx can meet a statement the server did run before it failed, hence no retry.
 */
public final class KsqlClient {

    public static final String MEDIA_TYPE = "application/vnd.ksql.v1+json";

    /** PAUSE and RESUME arrived in ksqlDB 0.28.0 (Confluent Platform 7.3.0), KLIP-63. */
    public static final String PAUSE_RESUME_MIN_VERSION = "0.28.0";

    /**
     * Header columns ({@code HEADER('k')}) arrived in ksqlDB 0.24.0 (Confluent Platform 7.1), KLIP-57; beside value columns
     * inferred from Schema Registry, which the ksqldb engine always uses, they work from ksqlDB 0.27.0 (Confluent Platform
     * 7.3.0): before, the inferred schema dropped the declared header columns (ksqlDB pull request 9023).
     */
    public static final String HEADER_COLUMNS_MIN_VERSION = "0.27.0";

    /**
     * The {@code MD5} function, which key-hash routing needs, arrived in Confluent Platform 7.5.0 (ksqlDB pull request
     * 9880, May 2023); no standalone ksqlDB release (0.28, 0.29) and no Confluent Platform before 7.5 has it.
     */
    public static final String MD5_MIN_VERSION = "7.5.0";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern QUERY_ID = Pattern.compile("[A-Za-z0-9_]+");
    private static final Pattern VERSION = Pattern.compile("^v?(\\d+)\\.(\\d+)");

    /** How often and how patiently to retry 5xx answers, refused connections and timeouts. */
    public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
        public RetryPolicy {
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
            }
            Objects.requireNonNull(initialBackoff, "initialBackoff");
            Objects.requireNonNull(maxBackoff, "maxBackoff");
        }

        /** Four attempts, waiting 0.5 s, 1 s, 2 s between them. */
        public static RetryPolicy defaults() {
            return new RetryPolicy(4, Duration.ofMillis(500), Duration.ofSeconds(8));
        }

        Duration backoffBefore(int attempt) {
            // attempt 2 waits initialBackoff, attempt 3 twice that, and so on, capped at maxBackoff
            long millis = initialBackoff.toMillis() << Math.min(20, Math.max(0, attempt - 2));
            return Duration.ofMillis(Math.min(millis, maxBackoff.toMillis()));
        }
    }

    /** Waits between attempts; tests pass one that only records the waits. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(Duration duration) throws InterruptedException;

        static Sleeper system() {
            return duration -> Thread.sleep(duration.toMillis());
        }
    }

    /** The answer of {@code GET /info}. */
    public record ServerInfo(String version, String kafkaClusterId, String ksqlServiceId, String serverStatus) {
    }

    /** The answer of {@code GET /healthcheck}; {@code details} is the server's JSON as is. */
    public record Health(boolean healthy, JsonNode details) {
    }

    /**
     * A persistent query as {@code SHOW QUERIES [EXTENDED]} describes it. Fields a given statement
     * does not return are empty (for example {@code consumerGroupId} in plain SHOW QUERIES).
     *
     * @param statusCount how many ksqlDB servers report each status (RUNNING, PAUSED, ERROR,
     *                    UNRESPONSIVE). The legacy {@code state} field says RUNNING for a paused
     *                    query, so use {@link #paused()}, which reads this map.
     */
    public record KsqlQuery(String queryId, String queryString, List<String> sources, List<String> sinks,
            String state, Map<String, Integer> statusCount, String consumerGroupId, String queryType,
            Map<String, String> overriddenProperties) {

        public KsqlQuery {
            sources = List.copyOf(sources);
            sinks = List.copyOf(sinks);
            statusCount = Collections.unmodifiableMap(new TreeMap<>(statusCount));
            overriddenProperties = Collections.unmodifiableMap(new TreeMap<>(overriddenProperties));
        }

        /**
         * The processing guarantee this query was created with ({@code processing.guarantee} or
         * {@code ksql.streams.processing.guarantee} in its overridden properties), if it has one of its own.
         */
        public Optional<String> processingGuarantee() {
            String v = overriddenProperties.get("processing.guarantee");
            return Optional.ofNullable(v != null ? v : overriddenProperties.get("ksql.streams.processing.guarantee"));
        }

        /** True when every instance of the query reports PAUSED (and at least one reports). */
        public boolean paused() {
            return allInstances("PAUSED");
        }

        /** True when every instance of the query reports RUNNING (and at least one reports). */
        public boolean running() {
            return allInstances("RUNNING");
        }

        /** True when the query writes the given stream or table (names compare case-insensitively). */
        public boolean writes(String sinkName) {
            return sinks.stream().anyMatch(s -> s.equalsIgnoreCase(sinkName));
        }

        private boolean allInstances(String status) {
            int total = statusCount.values().stream().mapToInt(Integer::intValue).sum();
            return total > 0 && statusCount.getOrDefault(status, 0) == total;
        }
    }

    private final URI endpoint;
    private final String authorization;
    private final HttpClient http;
    private final Duration requestTimeout;
    private final RetryPolicy retry;
    private final Sleeper sleeper;
    private final AtomicLong commandSequenceNumber = new AtomicLong(-1);
    private volatile ServerInfo cachedInfo;

    /**
     * @param endpoint       the ksqlDB endpoint, for example {@code https://pksqlc-xxxxx.eu-west-1.aws.confluent.cloud:443}
     * @param apiKey         the ksqlDB API key, or null for a server without authentication
     * @param apiSecret      the ksqlDB API secret, or null
     * @param http           the HTTP client, or null to build one
     * @param requestTimeout how long one request may take
     * @param retry          the retry policy for 5xx, refused connections and timeouts
     * @param sleeper        what waits between attempts
     */
    public KsqlClient(URI endpoint, String apiKey, String apiSecret, HttpClient http, Duration requestTimeout,
            RetryPolicy retry, Sleeper sleeper) {
        this.endpoint = withoutUserInfo(Objects.requireNonNull(endpoint, "endpoint"));
        if ((apiKey == null) != (apiSecret == null)) {
            throw new IllegalArgumentException("give both the ksqlDB API key and secret, or neither");
        }
        this.authorization = apiKey == null ? null
                : "Basic " + Base64.getEncoder()
                        .encodeToString((apiKey + ":" + apiSecret).getBytes(StandardCharsets.UTF_8));
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        this.http = http != null ? http
                : HttpClient.newBuilder().connectTimeout(requestTimeout).version(HttpClient.Version.HTTP_1_1).build();
        this.retry = Objects.requireNonNull(retry, "retry");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
    }

    /** A client with a 30 s request timeout, the default retry policy and real sleeps. */
    public KsqlClient(URI endpoint, String apiKey, String apiSecret) {
        this(endpoint, apiKey, apiSecret, null, Duration.ofSeconds(30), RetryPolicy.defaults(), Sleeper.system());
    }

    /** The endpoint, without any user info, as it appears in messages. */
    public URI endpoint() {
        return endpoint;
    }

    /** The highest command sequence number seen so far, or -1 before the first command. */
    public long commandSequenceNumber() {
        return commandSequenceNumber.get();
    }

    // ---------------------------------------------------------------------------------------
    // /ksql

    /** Runs statements with no property overrides. */
    public List<JsonNode> execute(String statements) {
        return execute(statements, Map.of());
    }

    /**
     * Runs one or more semicolon-terminated statements through {@code POST /ksql}.
     *
     * @return the entities ksqlDB returned, one per statement
     * @throws KsqlException when ksqlDB refuses a statement, refuses the credentials, cannot be
     *                       reached, or a command ends with status ERROR
     */
    public List<JsonNode> execute(String statements, Map<String, Object> streamsProperties) {
        Objects.requireNonNull(statements, "statements");
        ObjectNode body = JSON.createObjectNode();
        body.put("ksql", statements);
        body.set("streamsProperties", JSON.valueToTree(streamsProperties == null ? Map.of() : streamsProperties));
        long sequence = commandSequenceNumber.get();
        if (sequence >= 0) {
            body.put("commandSequenceNumber", sequence);
        }
        boolean repeatable = safeToRepeat(statements);
        Answer answer = send("POST", "/ksql", body.toString(), false, repeatable ? null : statements);
        JsonNode json = parse(answer, "/ksql");
        if (answer.status / 100 != 2) {
            rememberSequenceNumbers(json.path("entities"));
            if (answer.status >= 500 && !repeatable) {
                throw new KsqlException(KsqlException.Kind.AMBIGUOUS, "ksqlDB at " + endpoint + " failed while running \""
                        + abbreviate(statements) + "\" (HTTP " + answer.status + ": " + orUnknown(Text.firstLine(json.path("message").asText("")))
                        + "): it may have run it, so it was not sent again", answer.status, json.path("error_code").asInt(-1), statements, null);
            }
            throw errorFrom(answer.status, json, statements);
        }
        if (!json.isArray()) {
            throw protocol("/ksql", "expected a JSON array, got " + abbreviate(json.toString()));
        }
        rememberSequenceNumbers(json);
        List<JsonNode> entities = new ArrayList<>();
        json.forEach(entities::add);
        for (JsonNode entity : entities) {
            JsonNode status = entity.path("commandStatus");
            if ("ERROR".equals(status.path("status").asText())) {
                String statement = entity.path("statementText").asText(statements);
                throw new KsqlException(KsqlException.Kind.STATEMENT,
                        "ksqlDB could not run \"" + abbreviate(statement) + "\": "
                                + Text.firstLine(status.path("message").asText("command failed")),
                        answer.status, -1, statement, null);
            }
        }
        return entities;
    }

    /**
     * {@code SHOW QUERIES EXTENDED}: each query's id, statement, sources, sinks, consumer group
     * and status. ksqlDB reports the status per server ({@code ksqlHostQueryStatus}); this method
     * counts it into {@link KsqlQuery#statusCount()} unless the server sent a statusCount itself.
     */
    public List<KsqlQuery> showQueriesExtended() {
        JsonNode entity = single(execute("SHOW QUERIES EXTENDED;"), "queryDescriptions");
        List<KsqlQuery> queries = new ArrayList<>();
        for (JsonNode q : entity.path("queryDescriptions")) {
            Map<String, Integer> counts = statusCountOf(q);
            if (counts.isEmpty()) {
                q.path("ksqlHostQueryStatus").forEach(s -> counts.merge(s.asText(), 1, Integer::sum));
            }
            queries.add(toQuery(q, q.path("statementText").asText(""), counts));
        }
        return queries;
    }

    /**
     * {@code SHOW PROPERTIES}: property name to value, for example
     * {@code ksql.streams.processing.guarantee -> exactly_once_v2}.
     */
    public Map<String, String> showProperties() {
        JsonNode entity = single(execute("SHOW PROPERTIES;"), "properties");
        Map<String, String> properties = new LinkedHashMap<>();
        JsonNode list = entity.path("properties");
        if (list.isArray()) {
            // current servers: [{"name": ..., "scope": ..., "value": ...}]
            list.forEach(p -> properties.put(p.path("name").asText(), p.path("value").asText(null)));
        } else if (list.isObject()) {
            // older servers: {"name": "value"}
            list.properties().forEach(e -> properties.put(e.getKey(), e.getValue().asText(null)));
        }
        return properties;
    }

    /**
     * The server's {@code processing.guarantee}, read from {@code ksql.streams.processing.guarantee}
     * (or {@code processing.guarantee}); empty when the server does not list it.
     */
    public static Optional<String> processingGuarantee(Map<String, String> properties) {
        String value = properties.get("ksql.streams.processing.guarantee");
        if (value == null) {
            value = properties.get("processing.guarantee");
        }
        return Optional.ofNullable(value).map(String::trim).filter(v -> !v.isEmpty());
    }

    /** ksqlDB's default {@code ksql.streams.commit.interval.ms} (Kafka Streams' own default is lower under exactly-once). */
    public static final Duration DEFAULT_COMMIT_INTERVAL = Duration.ofSeconds(2);

    /**
     * How often the server's queries commit: {@code ksql.streams.commit.interval.ms} (or {@code commit.interval.ms}), or
     * ksqlDB's default of 2 s when the server does not list it. A paused query's tasks still commit, so a query's committed
     * offsets can move for about this long after PAUSE.
     */
    public static Duration commitInterval(Map<String, String> properties) {
        String value = properties.get("ksql.streams.commit.interval.ms");
        if (value == null) {
            value = properties.get("commit.interval.ms");
        }
        try {
            return value == null || value.isBlank() ? DEFAULT_COMMIT_INTERVAL : Duration.ofMillis(Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return DEFAULT_COMMIT_INTERVAL;
        }
    }

    /** True for {@code exactly_once}, {@code exactly_once_beta} and {@code exactly_once_v2}. */
    public static boolean isExactlyOnce(Map<String, String> properties) {
        return processingGuarantee(properties)
                .map(v -> v.toLowerCase(Locale.ROOT).startsWith("exactly_once"))
                .orElse(false);
    }

    /**
     * Whether the server knows a function, asked with {@code DESCRIBE FUNCTION name}: a {@code describe_function} entity
     * means yes; ksqlDB's statement error "Can't find any functions with the name" means no. Any other error is thrown.
     */
    public boolean hasFunction(String name) {
        if (!QUERY_ID.matcher(name).matches()) {
            throw new IllegalArgumentException("not a function name: " + name);
        }
        try {
            return execute("DESCRIBE FUNCTION " + name + ";").stream()
                    .anyMatch(e -> name.equalsIgnoreCase(e.path("name").asText()));
        } catch (KsqlException e) {
            if (e.kind() == KsqlException.Kind.STATEMENT && e.getMessage().contains("Can't find any functions")) {
                return false;
            }
            throw e;
        }
    }

    /**
     * {@code DESCRIBE <source>}: the value columns of a stream, in order (the fields of ksqlDB's {@code SourceDescription}
     * that are neither KEY nor HEADER columns).
     */
    public List<String> valueColumns(String source) {
        requireQueryId(source);
        JsonNode entity = single(execute("DESCRIBE " + source + ";"), "sourceDescription");
        List<String> columns = new ArrayList<>();
        for (JsonNode field : entity.path("sourceDescription").path("fields")) {
            if (!field.hasNonNull("fieldType")) {
                columns.add(field.path("name").asText());
            }
        }
        return columns;
    }

    /** {@code PAUSE <queryId>}; checks first that the server is 0.28 or newer. */
    public List<JsonNode> pause(String queryId) {
        requirePauseResume("PAUSE");
        return execute(KsqlStatements.pause(queryId));
    }

    /** {@code RESUME <queryId>}; checks first that the server is 0.28 or newer. */
    public List<JsonNode> resume(String queryId) {
        requirePauseResume("RESUME");
        return execute(KsqlStatements.resume(queryId));
    }

    /** {@code TERMINATE <queryId>}. */
    public List<JsonNode> terminate(String queryId) {
        return execute(KsqlStatements.terminate(queryId));
    }

    /**
     * Throws a one-line {@link KsqlException} when the server's version (from {@code /info}) is
     * older than 0.28 (ksqlDB) or 7.3 (Confluent Platform numbering), which cannot PAUSE/RESUME.
     */
    public void requirePauseResume(String what) {
        String version = info().version();
        if (!supportsPauseResume(version)) {
            throw new KsqlException(KsqlException.Kind.UNSUPPORTED,
                    "ksqlDB at " + endpoint + " is version " + version + ", which cannot " + what
                            + " a query: PAUSE/RESUME need ksqlDB " + PAUSE_RESUME_MIN_VERSION
                            + " or newer (Confluent Platform 7.3+)");
        }
    }

    /**
     * Whether a server version string supports PAUSE/RESUME: ksqlDB 0.28+ or Confluent Platform
     * 7.3+. A version this method cannot read is assumed recent (the statement itself will then
     * fail with ksqlDB's own message if it is not).
     */
    public static boolean supportsPauseResume(String version) {
        return atLeast(version, 28, 3);
    }

    /**
     * Whether a server version string has header columns that work with value columns inferred from Schema Registry:
     * ksqlDB 0.27+ or Confluent Platform 7.3+. A version this method cannot read is assumed recent.
     */
    public static boolean supportsHeaderColumns(String version) {
        return atLeast(version, 27, 3);
    }

    /**
     * Whether {@code version} is at least ksqlDB 0.{@code ksqlMinor} when numbered as ksqlDB (0.x), or at least Confluent
     * Platform 7.{@code platformMinor} when numbered as the platform (5.x and later). Unreadable versions count as recent.
     */
    private static boolean atLeast(String version, int ksqlMinor, int platformMinor) {
        if (version == null) {
            return true;
        }
        Matcher m = VERSION.matcher(version.trim());
        if (!m.find()) {
            return true;
        }
        int major = Integer.parseInt(m.group(1));
        int minor = Integer.parseInt(m.group(2));
        if (major == 0) {
            return minor >= ksqlMinor;
        }
        if (major >= 5) {
            return major > 7 || (major == 7 && minor >= platformMinor);
        }
        return true;
    }

    // ---------------------------------------------------------------------------------------
    // /info and /healthcheck

    /** {@code GET /info}: the server's version, Kafka cluster id, service id and status. */
    public ServerInfo info() {
        Answer answer = send("GET", "/info", null, false, null);
        JsonNode json = parse(answer, "/info");
        if (answer.status / 100 != 2) {
            throw errorFrom(answer.status, json, null);
        }
        JsonNode info = json.has("KsqlServerInfo") ? json.get("KsqlServerInfo") : json;
        if (!info.hasNonNull("version")) {
            throw protocol("/info", "no version in " + abbreviate(json.toString()));
        }
        ServerInfo result = new ServerInfo(info.path("version").asText(), info.path("kafkaClusterId").asText(null),
                info.path("ksqlServiceId").asText(null), info.path("serverStatus").asText(null));
        cachedInfo = result;
        return result;
    }

    /** The last {@link #info()} answer, or null before the first call. */
    public ServerInfo lastInfo() {
        return cachedInfo;
    }

    /**
     * {@code GET /healthcheck}. An unhealthy server answers 503 with the same JSON; that is a
     * result, not an error, so it is returned (not retried).
     */
    public Health healthcheck() {
        Answer answer = send("GET", "/healthcheck", null, true, null);
        JsonNode json = parse(answer, "/healthcheck");
        if (answer.status / 100 != 2 && !json.has("isHealthy")) {
            throw errorFrom(answer.status, json, null);
        }
        return new Health(json.path("isHealthy").asBoolean(false), json);
    }

    // ---------------------------------------------------------------------------------------
    // HTTP with retries

    private record Answer(int status, String body) {
    }

    /**
     * True when every statement in {@code statements} can be sent again without changing the outcome: it reads
     * ({@code SHOW}, {@code DESCRIBE}, {@code LIST}, {@code EXPLAIN}) or drops only if it exists.
     */
    public static boolean safeToRepeat(String statements) {
        List<String> each = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (char c : statements.toCharArray()) {
            if (c == '\'') {
                quoted = !quoted;
            }
            if (c == ';' && !quoted) {
                each.add(current.toString());
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        if (!current.toString().isBlank()) {
            each.add(current.toString());
        }
        return !each.isEmpty() && each.stream().map(t -> t.trim().replaceAll("\\s+", " ").toUpperCase(Locale.ROOT)).allMatch(t ->
                t.startsWith("SHOW ") || t.startsWith("LIST ") || t.startsWith("DESCRIBE ") || t.startsWith("EXPLAIN ")
                        || t.startsWith("DROP STREAM IF EXISTS ") || t.startsWith("DROP TABLE IF EXISTS "));
    }

    /**
     * Sends a request, retrying what is safe to repeat.
     *
     * @param changing the statements of a POST that is not safe to repeat, or null: such a request is retried only when it
     *                 never left (no connection), and a 5xx answer is returned at once
     */
    private Answer send(String method, String path, String body, boolean answerOn503, String changing) {
        URI uri = endpoint.resolve(path);
        HttpRequest.Builder builder = HttpRequest.newBuilder(uri)
                .timeout(requestTimeout)
                .header("Accept", MEDIA_TYPE);
        if (authorization != null) {
            builder.header("Authorization", authorization);
        }
        if (body != null) {
            builder.header("Content-Type", MEDIA_TYPE)
                    .method(method, HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        } else {
            builder.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpRequest request = builder.build();

        Answer last = null;
        Exception lastFailure = null;
        for (int attempt = 1; attempt <= retry.maxAttempts(); attempt++) {
            if (attempt > 1) {
                pause(retry.backoffBefore(attempt));
            }
            try {
                HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                last = new Answer(response.statusCode(), response.body());
                lastFailure = null;
                boolean serverError = last.status >= 500 && !(answerOn503 && last.status == 503);
                if (!serverError || changing != null) {
                    return last;
                }
            } catch (IOException e) {
                lastFailure = e;
                if (changing != null && !neverSent(e)) {
                    throw new KsqlException(KsqlException.Kind.AMBIGUOUS, "ksqlDB at " + endpoint + " gave no answer to \""
                            + abbreviate(changing) + "\" (" + reason(e) + "): it may have run it, so it was not sent again", -1, -1, changing, e);
                }
            } catch (UnresolvedAddressException e) {
                lastFailure = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KsqlException(KsqlException.Kind.UNREACHABLE,
                        "interrupted while waiting for ksqlDB at " + endpoint, -1, -1, null, e);
            }
        }
        if (lastFailure != null) {
            throw new KsqlException(KsqlException.Kind.UNREACHABLE,
                    "cannot reach ksqlDB at " + endpoint + ": " + reason(lastFailure) + " ("
                            + plural(retry.maxAttempts(), "attempt") + ")",
                    -1, -1, null, lastFailure);
        }
        return last;
    }

    /** True when the request cannot have reached the server: no connection was made. */
    private static boolean neverSent(Exception e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ConnectException || t instanceof HttpConnectTimeoutException || t instanceof UnresolvedAddressException
                    || t instanceof java.net.UnknownHostException || t instanceof java.net.NoRouteToHostException) {
                return true;
            }
        }
        return false;
    }

    private void pause(Duration duration) {
        try {
            sleeper.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KsqlException(KsqlException.Kind.UNREACHABLE,
                    "interrupted while waiting to retry ksqlDB at " + endpoint, -1, -1, null, e);
        }
    }

    private String reason(Exception e) {
        if (e instanceof HttpConnectTimeoutException) {
            return "no connection within " + Durations.format(requestTimeout);
        }
        if (e instanceof HttpTimeoutException) {
            return "no answer within " + Durations.format(requestTimeout);
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root instanceof UnresolvedAddressException || root instanceof java.net.UnknownHostException) {
            return "unknown host " + endpoint.getHost();
        }
        if (e instanceof ConnectException || root instanceof ConnectException) {
            String message = root.getMessage();
            return message == null || message.isBlank() ? "connection refused" : Text.firstLine(message).toLowerCase(Locale.ROOT);
        }
        String message = root.getMessage() != null ? root.getMessage() : e.getMessage();
        return (message == null || message.isBlank()) ? root.getClass().getSimpleName() : Text.firstLine(message);
    }

    // ---------------------------------------------------------------------------------------
    // Errors and parsing

    private KsqlException errorFrom(int status, JsonNode json, String statements) {
        String message = Text.firstLine(json.path("message").asText(""));
        int errorCode = json.path("error_code").asInt(-1);
        String type = json.path("@type").asText("");
        if (status == 401) {
            return new KsqlException(KsqlException.Kind.CREDENTIALS,
                    "ksqlDB at " + endpoint + " refused the credentials (HTTP 401): check the ksqlDB API key and secret",
                    status, errorCode, null, null);
        }
        if (status == 403) {
            return new KsqlException(KsqlException.Kind.CREDENTIALS,
                    "ksqlDB at " + endpoint + " denied access (HTTP 403): give the API key's owner the KsqlAdmin role"
                            + (message.isEmpty() ? "" : " (" + message + ")"),
                    status, errorCode, null, null);
        }
        String codeText = errorCode >= 0 ? "error " + errorCode : "HTTP " + status;
        if ("statement_error".equals(type) || json.has("statementText")) {
            String statement = json.path("statementText").asText(statements == null ? "" : statements);
            return new KsqlException(KsqlException.Kind.STATEMENT,
                    "ksqlDB rejected \"" + abbreviate(statement) + "\": " + orUnknown(message) + " (" + codeText + ")",
                    status, errorCode, statement, null);
        }
        if (status >= 500) {
            return new KsqlException(KsqlException.Kind.SERVER,
                    "ksqlDB at " + endpoint + " failed after " + plural(retry.maxAttempts(), "attempt") + ": "
                            + orUnknown(message) + " (HTTP " + status + (errorCode >= 0 ? ", error " + errorCode : "") + ")",
                    status, errorCode, statements, null);
        }
        return new KsqlException(KsqlException.Kind.SERVER,
                "ksqlDB at " + endpoint + " refused the request: " + orUnknown(message) + " (" + codeText + ")",
                status, errorCode, statements, null);
    }

    private JsonNode parse(Answer answer, String path) {
        String body = answer.body == null ? "" : answer.body.trim();
        if (body.isEmpty()) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(body);
        } catch (JsonProcessingException e) {
            if (answer.status / 100 != 2) {
                // proxies and load balancers answer with HTML or text; keep the status and a hint
                ObjectNode node = JSON.createObjectNode();
                node.put("message", Text.firstLine(body));
                return node;
            }
            throw protocol(path, "the answer is not JSON: " + abbreviate(body));
        }
    }

    private KsqlException protocol(String path, String detail) {
        return new KsqlException(KsqlException.Kind.PROTOCOL,
                "unexpected answer from ksqlDB at " + endpoint + path + ": " + detail);
    }

    private JsonNode single(List<JsonNode> entities, String field) {
        for (JsonNode entity : entities) {
            if (entity.has(field)) {
                return entity;
            }
        }
        throw protocol("/ksql", "no entity with \"" + field + "\" in the answer");
    }

    private void rememberSequenceNumbers(JsonNode entities) {
        if (entities == null || !entities.isArray()) {
            return;
        }
        for (JsonNode entity : entities) {
            JsonNode n = entity.get("commandSequenceNumber");
            if (n == null) {
                n = entity.path("commandStatus").get("commandSequenceNumber");
            }
            if (n != null && n.canConvertToLong()) {
                long value = n.asLong();
                commandSequenceNumber.accumulateAndGet(value, Math::max);
            }
        }
    }

    private static KsqlQuery toQuery(JsonNode q, String queryString, Map<String, Integer> statusCount) {
        Map<String, String> overridden = new TreeMap<>();
        q.path("overriddenProperties").properties().forEach(e -> overridden.put(e.getKey(), e.getValue().asText()));
        return new KsqlQuery(
                q.path("id").asText(),
                queryString,
                strings(q.path("sources")),
                strings(q.path("sinks")),
                q.path("state").asText(null),
                statusCount,
                q.path("consumerGroupId").asText(null),
                q.path("queryType").asText(null),
                overridden);
    }

    private static Map<String, Integer> statusCountOf(JsonNode q) {
        Map<String, Integer> counts = new TreeMap<>();
        q.path("statusCount").properties().forEach(e -> counts.put(e.getKey(), e.getValue().asInt()));
        return counts;
    }

    private static List<String> strings(JsonNode array) {
        List<String> values = new ArrayList<>();
        if (array.isArray()) {
            array.forEach(v -> values.add(v.asText()));
        } else if (array.isTextual()) {
            values.add(array.asText());
        }
        return values;
    }

    private static URI withoutUserInfo(URI uri) {
        if (uri.getUserInfo() == null) {
            return uri;
        }
        return URI.create(uri.getScheme() + "://" + uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "")
                + (uri.getRawPath() == null ? "" : uri.getRawPath()));
    }

    static String abbreviate(String text) {
        String oneLine = text == null ? "" : text.replaceAll("\\s+", " ").trim();
        return oneLine.length() <= 120 ? oneLine : oneLine.substring(0, 117) + "...";
    }

    private static String orUnknown(String message) {
        return message == null || message.isEmpty() ? "no message" : message;
    }

    private static String plural(int n, String word) {
        return n + " " + word + (n == 1 ? "" : "s");
    }

    static void requireQueryId(String queryId) {
        if (queryId == null || !QUERY_ID.matcher(queryId).matches()) {
            throw new IllegalArgumentException("not a ksqlDB query id: " + queryId);
        }
    }
}
