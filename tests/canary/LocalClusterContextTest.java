package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.context.Context;
import canary.context.Role;
import canary.platform.LocalPlatform;

/** The {@code local} section's brokers and security: what they default to, what they refuse, what they set. */
@Tag("fast")
class LocalClusterContextTest {

    @TempDir
    Path dir;

    private Context load(String local) throws IOException {
        Path f = dir.resolve("ctx.yaml");
        Files.writeString(f, "name: c\ntopic: orders\nstate_dir: state\n" + local
                + "legacy:\n  group: service_v1\n  run: [\"./svc\"]\nnew:\n  group: service_v2\n  run: [\"./svc\"]\n");
        return Context.load(f);
    }

    @Test
    void one_broker_without_security_by_default() throws Exception {
        Context c = load("");
        assertEquals(1, c.local().brokers());
        assertEquals(Context.Security.NONE, c.local().security());
        assertEquals(Optional.of("127.0.0.1:39092"), c.kafka().bootstrapServers());
        assertEquals(Optional.empty(), c.kafka().propertiesFile());
        assertEquals(Optional.empty(), c.service(Role.LEGACY).kafkaProperties());
        assertEquals(List.of("broker"), LocalPlatform.brokerNames(c.local().brokers()));
    }

    @Test
    void three_brokers_listen_on_every_second_port_and_are_all_bootstrap_servers() throws Exception {
        Context c = load("local:\n  brokers: 3\n  port: 40000\n");
        assertEquals(List.of(40000, 40002, 40004), c.local().ports());
        assertEquals(Optional.of("127.0.0.1:40000,127.0.0.1:40002,127.0.0.1:40004"), c.kafka().bootstrapServers());
        assertEquals(List.of("broker-1", "broker-2", "broker-3"), LocalPlatform.brokerNames(3));
        assertTrue(LocalPlatform.isBroker("broker-2") && LocalPlatform.isBroker("broker") && !LocalPlatform.isBroker("service-broker"));
    }

    @Test
    void sasl_points_the_kit_and_each_version_at_their_own_principal_files() throws Exception {
        Context c = load("local:\n  security: sasl\n");
        Path clients = c.stateDir().resolve("kafka").resolve("clients");
        assertEquals(Optional.of(clients.resolve("kit.properties")), c.kafka().propertiesFile());
        assertEquals(Optional.of(clients.resolve("service_v1.properties")), c.service(Role.LEGACY).kafkaProperties());
        assertEquals(Optional.of(clients.resolve("service_v2.properties")), c.service(Role.NEW).kafkaProperties());
    }

    @Test
    void a_process_started_with_its_own_properties_file_uses_it() throws Exception {
        Path own = dir.resolve("own.properties");
        Files.writeString(own, "bootstrap.servers=127.0.0.1:1\nsasl.mechanism=SCRAM-SHA-512\n");
        Context c = load("");
        assertEquals("SCRAM-SHA-512", c.kafka().clientPropertiesOfProcess(Map.of(Context.KAFKA_PROPERTIES_ENV, own.toString())::get)
                .getProperty("sasl.mechanism"));
        assertEquals(null, c.kafka().clientPropertiesOfProcess(k -> null).getProperty("sasl.mechanism"));
    }

    @Test
    void two_brokers_an_unknown_security_and_overlapping_ports_are_refused_with_one_line() {
        String two = assertThrows(RuntimeException.class, () -> load("local:\n  brokers: 2\n")).getMessage();
        assertTrue(two.contains("local.brokers") && two.contains("1 (a single broker) or 3"), two);
        String tls = assertThrows(RuntimeException.class, () -> load("local:\n  security: tls\n")).getMessage();
        assertTrue(tls.contains("security") && tls.contains("none, sasl"), tls);
        String overlap = assertThrows(RuntimeException.class, () -> load("local:\n  brokers: 3\n  port: 40000\n  controller_port: 40002\n")).getMessage();
        assertTrue(overlap.contains("local.controller_port"), overlap);
    }
}
