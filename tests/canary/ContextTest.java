package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.context.Context;
import canary.context.Routing;

@Tag("fast")
class ContextTest {

    static final String VALID = """
            name: orders-canary
            topic: orders
            legacy:
              group: service_v1
              run: ["./svc", "{service}", "{topic}", "{context}"]
            new:
              group: service_v2
              start: ["kubectl", "scale", "deploy/{service}", "--replicas=2"]
              stop: ["kubectl", "scale", "deploy/{service}", "--replicas=0"]
            """;

    @TempDir
    Path dir;

    Path write(String yaml) throws IOException {
        Path f = dir.resolve("ctx.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    Context.ContextException rejected(String yaml) throws IOException {
        Path f = write(yaml);
        return assertThrows(Context.ContextException.class, () -> Context.load(f, Map.of("SECRET", "s3cr3t")::get));
    }

    @Test
    void the_documented_example_loads() {
        Context ctx = Context.load(Path.of(System.getProperty("kit.root", ".")).resolve("services_examples/context.yaml"));
        assertEquals("orders", ctx.topic());
        assertEquals(Context.EngineKind.ROUTER, ctx.engine());
        assertEquals(Context.PlatformKind.LOCAL, ctx.platform());
        assertTrue(ctx.legacy().longRunning());
    }

    @Test
    void the_documented_ksqldb_example_loads_when_its_environment_variables_are_given() {
        Path file = Path.of(System.getProperty("kit.root", ".")).resolve("services_examples/context-ksqldb.yaml");
        Map<String, String> env = Map.of("KSQLDB_ENDPOINT", "https://pksqlc-abcde.us-east-2.aws.confluent.cloud:443",
                "KSQLDB_API_KEY", "KEY", "KSQLDB_API_SECRET", "SECRET");
        Context ctx = Context.load(file, env::get);
        assertEquals(Context.EngineKind.KSQLDB, ctx.engine());
        assertEquals(Context.PlatformKind.CONFLUENT_CLOUD, ctx.platform());
        assertEquals("JSON_SR", ctx.valueFormat());
        assertEquals("https://pksqlc-abcde.us-east-2.aws.confluent.cloud:443", ctx.ksqldb().orElseThrow().endpoint());
        assertEquals("SECRET", ctx.ksqldb().orElseThrow().apiSecret().orElseThrow());
        assertEquals(ctx.stateDir().resolve("client.properties"), ctx.kafka().propertiesFile().orElseThrow());
        var e = assertThrows(Context.ContextException.class, () -> Context.load(file, Map.<String, String>of()::get));
        assertTrue(e.getMessage().contains("KSQLDB_ENDPOINT is not set"), e.getMessage());
    }

    @Nested
    class A_valid_file {
        @Test
        void gets_defaults_for_what_it_leaves_out() throws IOException {
            Context ctx = Context.load(write(VALID));
            assertEquals(6, ctx.partitions());
            assertEquals(Context.EngineKind.ROUTER, ctx.engine());
            assertEquals(Context.PlatformKind.LOCAL, ctx.platform());
            assertEquals(Routing.RANDOM, ctx.routing());
            assertEquals(dir.resolve("etc"), ctx.stateDir());
            assertEquals("127.0.0.1:39092", ctx.kafka().clientProperties().getProperty("bootstrap.servers"));
            assertEquals("orders_legacy", ctx.legacyTopic());
            assertEquals("orders_new", ctx.newTopic());
            assertEquals("orders_canary_state", ctx.stateTopic());
        }

        @Test
        void fills_the_command_placeholders() throws IOException {
            Path f = write(VALID);
            Context ctx = Context.load(f);
            assertEquals(List.of("./svc", "service_v1", "orders_legacy", f.toAbsolutePath().toString()),
                    ctx.legacy().command(ctx.legacy().run(), "orders_legacy", ctx.file()));
            assertFalse(ctx.newVersion().longRunning());
            assertEquals(List.of("kubectl", "scale", "deploy/service_v2", "--replicas=0"),
                    ctx.newVersion().command(ctx.newVersion().stop(), "orders", ctx.file()));
        }

        @Test
        void resolves_env_references_and_relative_paths() throws IOException {
            Files.writeString(dir.resolve("client.properties"), "bootstrap.servers=broker:9092\nsasl.jaas.config=secret=${SECRET}\n");
            Path f = write(VALID + """
                    engine: ksqldb
                    platform: existing
                    kafka:
                      properties_file: client.properties
                    ksqldb:
                      endpoint: https://ksql.example:443/
                      api_key: ${SECRET}
                      api_secret: ${SECRET}
                    """);
            Context ctx = Context.load(f, Map.of("SECRET", "s3cr3t")::get);
            assertEquals("broker:9092", ctx.kafka().clientProperties(Map.of("SECRET", "s3cr3t")::get).getProperty("bootstrap.servers"));
            assertEquals("secret=s3cr3t", ctx.kafka().clientProperties(Map.of("SECRET", "s3cr3t")::get).getProperty("sasl.jaas.config"));
            assertEquals("https://ksql.example:443", ctx.ksqldb().orElseThrow().endpoint());
            assertEquals("s3cr3t", ctx.ksqldb().orElseThrow().apiKey().orElseThrow());
            assertFalse(ctx.ksqldb().orElseThrow().toString().contains("s3cr3t"), "secrets are never printed");
        }
    }

    @Nested
    class A_bad_file_is_rejected_with_file_key_and_expectation {
        @Test
        void missing_file() {
            Path f = dir.resolve("nope.yaml");
            var e = assertThrows(Context.ContextException.class, () -> Context.load(f));
            assertEquals(f + ": the context file does not exist", e.getMessage());
        }

        @Test
        void malformed_yaml() throws IOException {
            var e = rejected("name: [unclosed\ntopic: x\n");
            assertTrue(e.getMessage().startsWith(dir.resolve("ctx.yaml") + ": not valid YAML (line "), e.getMessage());
        }

        @Test
        void unknown_key() throws IOException {
            var e = rejected(VALID + "topicc: typo\n");
            assertTrue(e.getMessage().contains("unknown key 'topicc' (expected one of: "), e.getMessage());
        }

        @Test
        void unknown_nested_key() throws IOException {
            var e = rejected(VALID.replace("group: service_v1", "group: service_v1\n  grop: x"));
            assertTrue(e.getMessage().contains("unknown key 'legacy.grop'"), e.getMessage());
        }

        @Test
        void missing_key() throws IOException {
            var e = rejected(VALID.replace("topic: orders\n", ""));
            assertTrue(e.getMessage().endsWith("missing key 'topic' (the name of the original topic)"), e.getMessage());
        }

        @Test
        void wrong_type() throws IOException {
            var e = rejected(VALID + "partitions: six\n");
            assertTrue(e.getMessage().endsWith("key 'partitions': expected a whole number from 1 to 10000, got 'six'"), e.getMessage());
        }

        @Test
        void duplicate_key() throws IOException {
            var e = rejected(VALID + "topic: payments\n");
            assertTrue(e.getMessage().contains("not valid YAML") && e.getMessage().contains("Duplicate field 'topic'"), e.getMessage());
        }

        @Test
        void a_name_that_cannot_name_confluent_cloud_resources_on_platform_confluent_cloud() throws IOException {
            for (String name : new String[] {"orders.cloud", "-orders", "orders_", "x".repeat(41)}) {
                var e = rejected(VALID.replace("name: orders-canary", "name: \"" + name + "\"") + "platform: confluent-cloud\n");
                assertTrue(e.getMessage().endsWith("key 'name': expected with platform confluent-cloud, 1 to 40 letters, digits, '-' or"
                        + " '_', starting and ending with a letter or digit (it names the Confluent Cloud environment and prefixes its"
                        + " service accounts), got " + name), e.getMessage());
            }
            // the same names on another platform, and a valid cloud name, load
            Context.load(write(VALID.replace("name: orders-canary", "name: orders.cloud")));
            Context.load(write(VALID.replace("name: orders-canary", "name: O_1-" + "x".repeat(36)) + "platform: confluent-cloud\n"));
        }

        @Test
        void a_topic_name_kafka_refuses() throws IOException {
            for (String topic : new String[] {"..", ".", "x".repeat(250)}) {
                var e = rejected(VALID.replace("topic: orders", "topic: \"" + topic + "\""));
                assertTrue(e.getMessage().contains("key 'topic': expected a valid Kafka topic name"), e.getMessage());
            }
        }

        @Test
        void bad_value() throws IOException {
            var e = rejected(VALID + "engine: flink\n");
            assertTrue(e.getMessage().endsWith("key 'engine': expected one of router, ksqldb, got flink"), e.getMessage());
        }

        @Test
        void unset_env_reference() throws IOException {
            var e = rejected(VALID + "kafka:\n  bootstrap_servers: ${NOT_SET_ANYWHERE}\n");
            assertTrue(e.getMessage().endsWith("key 'kafka.bootstrap_servers': the environment variable NOT_SET_ANYWHERE is not set"), e.getMessage());
        }

        @Test
        void a_secret_written_in_clear() throws IOException {
            var e = rejected(VALID + "ksqldb:\n  endpoint: https://k\n  api_key: AKEY\n  api_secret: ${SECRET}\n");
            assertTrue(e.getMessage().contains("key 'ksqldb.api_key': expected a ${ENV_VAR} reference"), e.getMessage());
        }

        @Test
        void a_version_with_both_run_and_start() throws IOException {
            var e = rejected(VALID.replace("run: [\"./svc\", \"{service}\", \"{topic}\", \"{context}\"]",
                    "run: [\"./svc\"]\n  start: [\"x\"]\n  stop: [\"y\"]"));
            assertTrue(e.getMessage().contains("key 'legacy': expected either 'run'"), e.getMessage());
        }

        @Test
        void the_same_group_for_both_versions() throws IOException {
            var e = rejected(VALID.replace("service_v2", "service_v1"));
            assertTrue(e.getMessage().contains("need different consumer groups"), e.getMessage());
        }

        @Test
        void an_empty_file() throws IOException {
            var e = rejected("");
            assertTrue(e.getMessage().endsWith("the context file is empty; see services_examples/context.yaml"), e.getMessage());
        }

        @Test
        @DisplayName("engine ksqldb without a ksqldb section")
        void ksqldb_without_endpoint() throws IOException {
            var e = rejected(VALID + "engine: ksqldb\n");
            assertTrue(e.getMessage().contains("key 'ksqldb': required with engine ksqldb"), e.getMessage());
        }
    }
}
