package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import canary.engine.ksqldb.KsqlClient;
import canary.engine.ksqldb.KsqlException;

/** Contract tests of {@link KsqlClient} against a server replaying ksqlDB's documented answers. */
@Tag("fast")
class KsqlClientTest {

    private static final String KEY = "KSQLKEY123";
    private static final String SECRET = "s3cr3t/with+chars";
    private static final String SOURCE = "CREATE STREAM ORDERS_CANARY_SOURCE (ORDER_KEY STRING KEY) "
            + "WITH (KAFKA_TOPIC='orders', KEY_FORMAT='KAFKA', VALUE_FORMAT='JSON_SR');";

    private KsqlReplayServer server;
    private final List<Duration> sleeps = new ArrayList<>();
    private KsqlClient client;

    @BeforeEach
    void start() {
        server = new KsqlReplayServer();
        client = client(server.endpoint(), KEY, SECRET);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private KsqlClient client(URI endpoint, String key, String secret) {
        return new KsqlClient(endpoint, key, secret, null, Duration.ofSeconds(5),
                new KsqlClient.RetryPolicy(3, Duration.ofMillis(100), Duration.ofSeconds(1)), sleeps::add);
    }

    private static void assertOneLine(String message) {
        assertFalse(message.contains("\n") || message.contains("\r"), "one line expected: " + message);
    }

    @Nested
    @DisplayName("requests")
    class Requests {

        @Test
        void should_post_the_statement_with_the_ksql_media_type_and_basic_auth() {
            server.ksql(KsqlFixtures.commandStatus(SOURCE, 10));

            List<JsonNode> entities = client.execute(SOURCE, Map.of("ksql.streams.auto.offset.reset", "earliest"));

            assertEquals(1, entities.size());
            KsqlReplayServer.Recorded request = server.last();
            assertEquals("POST", request.method());
            assertEquals("/ksql", request.path());
            assertEquals("application/vnd.ksql.v1+json", request.header("Accept"));
            assertEquals("application/vnd.ksql.v1+json", request.header("Content-Type"));
            String expectedAuth = "Basic " + Base64.getEncoder()
                    .encodeToString((KEY + ":" + SECRET).getBytes(StandardCharsets.UTF_8));
            assertEquals(expectedAuth, request.header("Authorization"));
            assertEquals(SOURCE, request.ksql());
            assertEquals("earliest", request.json().path("streamsProperties").path("ksql.streams.auto.offset.reset").asText());
            assertFalse(request.json().has("commandSequenceNumber"), "no sequence number before the first command");
        }

        @Test
        void should_send_no_authorization_header_without_a_key() {
            KsqlClient anonymous = client(server.endpoint(), null, null);
            server.ksql(KsqlFixtures.commandStatus(SOURCE, 1));

            anonymous.execute(SOURCE);

            assertNull(server.last().header("Authorization"));
            assertEquals("{}", server.last().json().path("streamsProperties").toString());
        }

        @Test
        void should_pass_back_the_highest_command_sequence_number() {
            server.ksql(KsqlFixtures.commandStatus(SOURCE, 10))
                    .ksql(KsqlFixtures.commandStatus("CREATE STREAM ORDERS_RATED ...;", "stream/ORDERS_RATED/create", 11,
                            "CSAS_ORDERS_RATED_11"))
                    .ksql(KsqlFixtures.SHOW_QUERIES_EXTENDED);

            client.execute(SOURCE);
            client.execute("CREATE STREAM ORDERS_RATED ...;");
            client.showQueriesExtended();

            List<KsqlReplayServer.Recorded> requests = server.requests();
            assertEquals(3, requests.size());
            assertFalse(requests.get(0).json().has("commandSequenceNumber"));
            assertEquals(10, requests.get(1).json().path("commandSequenceNumber").asLong());
            assertEquals(11, requests.get(2).json().path("commandSequenceNumber").asLong());
            assertEquals(11, client.commandSequenceNumber());
        }

        @Test
        void should_remember_the_sequence_number_of_statements_that_succeeded_before_an_error() {
            server.reply("POST", "/ksql", 400, KsqlFixtures.STATEMENT_ERROR);

            assertThrows(KsqlException.class, () -> client.execute("CREATE STREAM ORDERS_CANARY_SOURCE; CREATE ...;"));

            assertEquals(21, client.commandSequenceNumber());
        }

        @Test
        void should_not_put_user_info_of_the_endpoint_in_messages() {
            URI withUser = URI.create("http://someone:hidden@127.0.0.1:" + server.endpoint().getPort());
            KsqlClient c = client(withUser, KEY, SECRET);
            assertEquals(server.endpoint(), c.endpoint());
        }
    }

    @Nested
    @DisplayName("retries")
    class Retries {

        static final String DROP = "DROP STREAM IF EXISTS ORDERS_NEW DELETE TOPIC;";

        @Test
        void should_retry_a_503_to_a_statement_safe_to_repeat_then_succeed() {
            server.reply("POST", "/ksql", 503, KsqlFixtures.GENERIC_ERROR_503)
                    .reply("POST", "/ksql", 503, KsqlFixtures.GENERIC_ERROR_503)
                    .ksql(KsqlFixtures.commandStatus(DROP, 10));

            client.execute(DROP);

            assertEquals(3, server.requests().size());
            assertEquals(List.of(Duration.ofMillis(100), Duration.ofMillis(200)), sleeps);
            server.requests().forEach(r -> assertEquals(DROP, r.ksql()));
        }

        @Test
        void should_not_send_a_create_again_after_a_5xx_and_say_it_may_have_run() {
            server.reply("POST", "/ksql", 500, KsqlFixtures.GENERIC_ERROR_500).ksql(KsqlFixtures.commandStatus(SOURCE, 10));

            KsqlException e = assertThrows(KsqlException.class, () -> client.execute(SOURCE));

            assertEquals(1, server.requests().size(), "a CREATE is not idempotent");
            assertTrue(sleeps.isEmpty());
            assertEquals(KsqlException.Kind.AMBIGUOUS, e.kind());
            assertOneLine(e.getMessage());
            assertTrue(e.getMessage().startsWith("ksqlDB at " + server.endpoint() + " failed while running \"CREATE STREAM ORDERS_CANARY_SOURCE"),
                    e.getMessage());
            assertTrue(e.getMessage().endsWith("(HTTP 500: Could not write the statement into the command topic.): it may have run it,"
                    + " so it was not sent again"), e.getMessage());
        }

        @Test
        void should_not_send_a_create_again_after_a_timeout() throws IOException {
            try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
                URI endpoint = URI.create("http://127.0.0.1:" + silent.getLocalPort());
                KsqlClient impatient = new KsqlClient(endpoint, KEY, SECRET, null, Duration.ofMillis(300),
                        new KsqlClient.RetryPolicy(3, Duration.ofMillis(10), Duration.ofMillis(10)), sleeps::add);

                KsqlException e = assertThrows(KsqlException.class, () -> impatient.execute(SOURCE));

                assertEquals(KsqlException.Kind.AMBIGUOUS, e.kind(), e.getMessage());
                assertTrue(e.getMessage().contains("gave no answer to \"CREATE STREAM ORDERS_CANARY_SOURCE"), e.getMessage());
                assertTrue(sleeps.isEmpty(), "sent once: " + sleeps);
            }
        }

        @Test
        void should_tell_the_statements_safe_to_repeat() {
            for (String safe : List.of("SHOW QUERIES EXTENDED;", "SHOW PROPERTIES;", "DESCRIBE FUNCTION MD5;", "LIST STREAMS;",
                    "EXPLAIN CSAS_X_1;", DROP, "drop stream if exists x;")) {
                assertTrue(KsqlClient.safeToRepeat(safe), safe);
            }
            for (String changing : List.of(SOURCE, "CREATE OR REPLACE STREAM X AS SELECT * FROM Y;", "PAUSE CSAS_X_1;",
                    "RESUME CSAS_X_1;", "TERMINATE CSAS_X_1;", "DROP STREAM X;", "SHOW STREAMS; CREATE STREAM X (A INT) WITH (KAFKA_TOPIC='x');")) {
                assertFalse(KsqlClient.safeToRepeat(changing), changing);
            }
        }

        @Test
        void should_give_up_after_the_last_attempt_with_one_line() {
            for (int i = 0; i < 3; i++) {
                server.reply("POST", "/ksql", 500, KsqlFixtures.GENERIC_ERROR_500);
            }

            KsqlException e = assertThrows(KsqlException.class, () -> client.execute("SHOW QUERIES EXTENDED;"));

            assertEquals(3, server.requests().size());
            assertEquals(KsqlException.Kind.SERVER, e.kind());
            assertEquals("ksqlDB at " + server.endpoint() + " failed after 3 attempts: "
                    + "Could not write the statement into the command topic. (HTTP 500, error 50000)", e.getMessage());
        }

        @Test
        void should_not_retry_a_400() {
            server.reply("POST", "/ksql", 400, KsqlFixtures.STATEMENT_ERROR);

            assertThrows(KsqlException.class, () -> client.execute("CREATE STREAM ORDERS_RATED AS SELECT * FROM ORDERS_CANARY_SOURCE;"));

            assertEquals(1, server.requests().size());
            assertTrue(sleeps.isEmpty());
        }

        @Test
        void should_not_retry_a_401() {
            server.reply("POST", "/ksql", 401, KsqlFixtures.UNAUTHORIZED);

            assertThrows(KsqlException.class, () -> client.execute(SOURCE));

            assertEquals(1, server.requests().size());
        }
    }

    @Nested
    @DisplayName("errors")
    class Errors {

        @Test
        void should_explain_a_statement_error_in_one_line() {
            server.reply("POST", "/ksql", 400, KsqlFixtures.STATEMENT_ERROR);

            KsqlException e = assertThrows(KsqlException.class,
                    () -> client.execute("CREATE STREAM ORDERS_RATED AS SELECT * FROM ORDERS_CANARY_SOURCE;"));

            assertEquals("ksqlDB rejected \"CREATE STREAM ORDERS_RATED AS SELECT * FROM ORDERS_CANARY_SOURCE;\": "
                    + "Exception while preparing statement: ORDERS_CANARY_SOURCE does not exist. (error 40001)", e.getMessage());
            assertEquals(KsqlException.Kind.STATEMENT, e.kind());
            assertEquals(400, e.httpStatus());
            assertEquals(40001, e.errorCode());
            assertEquals("CREATE STREAM ORDERS_RATED AS SELECT * FROM ORDERS_CANARY_SOURCE;", e.statementText());
        }

        @Test
        void should_explain_a_generic_error_in_one_line() {
            server.reply("POST", "/ksql", 404, """
                    {"@type":"generic_error","error_code":40400,"message":"Query CSAS_X_1 does not exist.\\nmore"}
                    """);

            KsqlException e = assertThrows(KsqlException.class, () -> client.execute("TERMINATE CSAS_X_1;"));

            assertEquals("ksqlDB at " + server.endpoint() + " refused the request: Query CSAS_X_1 does not exist. (error 40400)",
                    e.getMessage());
            assertEquals(KsqlException.Kind.SERVER, e.kind());
        }

        @Test
        void should_explain_refused_credentials_without_the_secret() {
            server.reply("POST", "/ksql", 401, KsqlFixtures.UNAUTHORIZED);

            KsqlException e = assertThrows(KsqlException.class, () -> client.execute(SOURCE));

            assertEquals("ksqlDB at " + server.endpoint()
                    + " refused the credentials (HTTP 401): check the ksqlDB API key and secret", e.getMessage());
            assertEquals(KsqlException.Kind.CREDENTIALS, e.kind());
            assertFalse(e.getMessage().contains(SECRET));
            assertFalse(e.getMessage().contains(KEY));
        }

        @Test
        void should_explain_a_missing_role() {
            server.reply("GET", "/info", 403, KsqlFixtures.FORBIDDEN);

            KsqlException e = assertThrows(KsqlException.class, () -> client.info());

            assertEquals("ksqlDB at " + server.endpoint() + " denied access (HTTP 403): give the API key's owner "
                    + "the KsqlAdmin role (Forbidden: KsqlAdmin role required)", e.getMessage());
        }

        @Test
        void should_explain_an_unreachable_endpoint_after_the_retries() throws IOException {
            int closedPort;
            try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                closedPort = socket.getLocalPort();
            }
            URI closed = URI.create("http://127.0.0.1:" + closedPort);

            // a CREATE too: a refused connection never reached the server
            KsqlException e = assertThrows(KsqlException.class, () -> client(closed, KEY, SECRET).execute(SOURCE));

            assertEquals(KsqlException.Kind.UNREACHABLE, e.kind());
            assertTrue(e.getMessage().startsWith("cannot reach ksqlDB at " + closed + ": "), e.getMessage());
            assertTrue(e.getMessage().endsWith(" (3 attempts)"), e.getMessage());
            assertOneLine(e.getMessage());
            assertEquals(2, sleeps.size(), "waits between three attempts");
        }

        @Test
        void should_retry_a_timeout_then_explain_it() throws IOException {
            // a socket that accepts connections (the kernel backlog does) but never answers
            try (ServerSocket silent = new ServerSocket(0, 10, InetAddress.getLoopbackAddress())) {
                URI endpoint = URI.create("http://127.0.0.1:" + silent.getLocalPort());
                KsqlClient impatient = new KsqlClient(endpoint, KEY, SECRET, null, Duration.ofMillis(300),
                        new KsqlClient.RetryPolicy(2, Duration.ofMillis(10), Duration.ofMillis(10)), sleeps::add);

                KsqlException e = assertThrows(KsqlException.class, impatient::info);

                assertEquals(KsqlException.Kind.UNREACHABLE, e.kind());
                assertTrue(e.getMessage().matches("cannot reach ksqlDB at " + endpoint
                        + ": no (answer|connection) within 300 ms \\(2 attempts\\)"), e.getMessage());
                assertEquals(List.of(Duration.ofMillis(10)), sleeps);
            }
        }

        @Test
        void should_explain_a_command_that_ended_in_error() {
            server.ksql(KsqlFixtures.COMMAND_ERROR);

            KsqlException e = assertThrows(KsqlException.class,
                    () -> client.execute("CREATE STREAM ORDERS_NEW AS SELECT * FROM ORDERS_RATED;"));

            assertEquals("ksqlDB could not run \"CREATE STREAM ORDERS_NEW AS SELECT * FROM ORDERS_RATED;\": "
                    + "Could not write to topic orders_new", e.getMessage());
            assertEquals(KsqlException.Kind.STATEMENT, e.kind());
        }

        @Test
        void should_explain_an_answer_that_is_not_json() {
            server.reply("GET", "/info", 502, "<html><body>Bad gateway</body></html>")
                    .reply("GET", "/info", 502, "<html><body>Bad gateway</body></html>")
                    .reply("GET", "/info", 502, "<html><body>Bad gateway</body></html>");

            KsqlException e = assertThrows(KsqlException.class, () -> client.info());

            assertEquals("ksqlDB at " + server.endpoint() + " failed after 3 attempts: "
                    + "<html><body>Bad gateway</body></html> (HTTP 502)", e.getMessage());
        }

        @Test
        void should_refuse_pause_on_a_server_older_than_0_28_before_sending_it() {
            server.reply("GET", "/info", 200, KsqlFixtures.info("0.27.2"));

            KsqlException e = assertThrows(KsqlException.class, () -> client.pause("CSAS_ORDERS_RATED_11"));

            assertEquals(KsqlException.Kind.UNSUPPORTED, e.kind());
            assertEquals("ksqlDB at " + server.endpoint() + " is version 0.27.2, which cannot PAUSE a query: "
                    + "PAUSE/RESUME need ksqlDB 0.28.0 or newer (Confluent Platform 7.3+)", e.getMessage());
            assertTrue(server.requests().stream().noneMatch(r -> r.path().equals("/ksql")));
        }

        @Test
        void should_show_the_servers_own_message_when_it_does_not_know_pause() {
            server.reply("GET", "/info", 200, KsqlFixtures.info("unknown-build"))
                    .reply("POST", "/ksql", 400, KsqlFixtures.PARSE_ERROR_OLD_SERVER);

            KsqlException e = assertThrows(KsqlException.class, () -> client.pause("CSAS_ORDERS_RATED_11"));

            assertEquals("ksqlDB rejected \"PAUSE CSAS_ORDERS_RATED_11;\": line 1:1: Syntax Error (error 40001)",
                    e.getMessage());
        }
    }

    @Nested
    @DisplayName("typed helpers")
    class Helpers {

        @Test
        void should_read_ids_consumer_groups_and_host_status_from_show_queries_extended() {
            server.ksql(KsqlFixtures.SHOW_QUERIES_EXTENDED);

            List<KsqlClient.KsqlQuery> queries = client.showQueriesExtended();

            assertEquals("SHOW QUERIES EXTENDED;", server.last().ksql());
            KsqlClient.KsqlQuery rated = queries.get(0);
            assertEquals("CSAS_ORDERS_RATED_11", rated.queryId());
            assertEquals("_confluent-ksql-pksqlc-abcdequery_CSAS_ORDERS_RATED_11", rated.consumerGroupId());
            assertEquals(List.of("ORDERS_CANARY_SOURCE"), rated.sources());
            assertEquals(List.of("ORDERS_RATED"), rated.sinks());
            assertEquals(Map.of("PAUSED", 2), rated.statusCount());
            assertTrue(rated.paused());
            assertTrue(rated.queryString().startsWith("CREATE STREAM ORDERS_RATED"));
            KsqlClient.KsqlQuery legacy = queries.get(1);
            assertEquals(Map.of("PAUSED", 1, "RUNNING", 1), legacy.statusCount());
            assertFalse(legacy.paused());
            assertTrue(legacy.writes("orders_legacy"));
            assertEquals(java.util.Optional.of("exactly_once_v2"), rated.processingGuarantee(), "from overriddenProperties");
            assertEquals(java.util.Optional.empty(), legacy.processingGuarantee(), "no guarantee of its own: the server's default");
        }

        @Test
        void should_read_properties_as_a_list() {
            server.ksql(KsqlFixtures.showProperties("exactly_once_v2"));

            Map<String, String> properties = client.showProperties();

            assertEquals("SHOW PROPERTIES;", server.last().ksql());
            assertEquals("exactly_once_v2", properties.get("ksql.streams.processing.guarantee"));
            assertEquals("pksqlc-abcde", properties.get("ksql.service.id"));
            assertTrue(KsqlClient.isExactlyOnce(properties));
        }

        @Test
        void should_read_properties_as_a_map_from_older_servers() {
            server.ksql(KsqlFixtures.SHOW_PROPERTIES_OLD);

            Map<String, String> properties = client.showProperties();

            assertEquals("at_least_once", KsqlClient.processingGuarantee(properties).orElseThrow());
            assertFalse(KsqlClient.isExactlyOnce(properties));
        }

        @Test
        void should_not_call_a_server_exactly_once_when_it_does_not_say() {
            assertFalse(KsqlClient.isExactlyOnce(Map.of()));
            assertTrue(KsqlClient.isExactlyOnce(Map.of("processing.guarantee", "exactly_once")));
        }

        @Test
        void should_read_server_info() {
            server.reply("GET", "/info", 200, KsqlFixtures.info("0.29.0"));

            KsqlClient.ServerInfo info = client.info();

            assertEquals("GET", server.last().method());
            assertEquals("application/vnd.ksql.v1+json", server.last().header("Accept"));
            assertTrue(server.last().header("Authorization").startsWith("Basic "));
            assertEquals(new KsqlClient.ServerInfo("0.29.0", "lkc-12345", "pksqlc-abcde", "RUNNING"), info);
        }

        @Test
        void should_pause_resume_and_terminate_by_query_id() {
            server.reply("GET", "/info", 200, KsqlFixtures.info("0.29.0"))
                    .ksql(KsqlFixtures.commandStatus("PAUSE CSAS_ORDERS_RATED_11;", 30))
                    .reply("GET", "/info", 200, KsqlFixtures.info("0.29.0"))
                    .ksql(KsqlFixtures.commandStatus("RESUME CSAS_ORDERS_RATED_11;", 31))
                    .ksql(KsqlFixtures.commandStatus("TERMINATE CSAS_ORDERS_RATED_11;", 32));

            client.pause("CSAS_ORDERS_RATED_11");
            client.resume("CSAS_ORDERS_RATED_11");
            client.terminate("CSAS_ORDERS_RATED_11");

            List<String> statements = server.requests().stream().filter(r -> r.path().equals("/ksql"))
                    .map(KsqlReplayServer.Recorded::ksql).toList();
            assertEquals(List.of("PAUSE CSAS_ORDERS_RATED_11;", "RESUME CSAS_ORDERS_RATED_11;",
                    "TERMINATE CSAS_ORDERS_RATED_11;"), statements);
            assertEquals(32, client.commandSequenceNumber());
        }

        @Test
        void should_refuse_a_query_id_that_is_not_one() {
            assertThrows(IllegalArgumentException.class, () -> client.terminate("X; DROP STREAM Y"));
            assertTrue(server.requests().isEmpty());
        }

        @Test
        void should_know_which_versions_can_pause() {
            assertFalse(KsqlClient.supportsPauseResume("0.27.2"));
            assertTrue(KsqlClient.supportsPauseResume("0.28.0"));
            assertTrue(KsqlClient.supportsPauseResume("0.29.0"));
            assertFalse(KsqlClient.supportsPauseResume("7.2.1"));
            assertTrue(KsqlClient.supportsPauseResume("7.3.0"));
            assertTrue(KsqlClient.supportsPauseResume("7.9.0-ccs"));
            assertTrue(KsqlClient.supportsPauseResume("8.0.0"));
        }

        @Test
        void should_report_health() {
            server.reply("GET", "/healthcheck", 200, KsqlFixtures.HEALTHY);

            assertTrue(client.healthcheck().healthy());
            assertEquals("/healthcheck", server.last().path());
        }

        @Test
        void should_report_an_unhealthy_server_without_retrying() {
            server.reply("GET", "/healthcheck", 503, KsqlFixtures.UNHEALTHY);

            KsqlClient.Health health = client.healthcheck();

            assertFalse(health.healthy());
            assertFalse(health.details().path("details").path("kafka").path("isHealthy").asBoolean(true));
            assertEquals(1, server.requests().size());
        }
    }
}
