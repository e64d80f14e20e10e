package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.SetupCommand;
import canary.cli.StatusCommand;
import canary.cli.TeardownCommand;
import canary.common.Waits;
import canary.platform.Processes;

/** Replicated clusters: three KRaft nodes as child JVMs (the test helper), and {@code local.brokers: 3} of the local platform. */
class ReplicatedClusterTest {

    @TempDir
    Path dir;

    @Test
    void three_nodes_replicate_with_min_insync_2_and_a_killed_leader_is_replaced_and_comes_back() throws Exception {
        try (TestCluster cluster = TestCluster.start(3); Admin admin = cluster.admin()) {
            String topic = TestBroker.unique("replicated");
            admin.createTopics(List.of(new NewTopic(topic, Optional.of(2), Optional.empty()))).all().get(30, TimeUnit.SECONDS);
            TopicDescription d = describe(admin, topic);
            d.partitions().forEach(p -> assertEquals(3, p.replicas().size(), "replication factor 3 by default: " + p));
            assertEquals("2", topicConfig(admin, topic).get("min.insync.replicas").value());
            Config broker = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.BROKER, "1"))).all().get()
                    .values().iterator().next();
            assertEquals("3", broker.get("offsets.topic.replication.factor").value());
            assertEquals("3", broker.get("transaction.state.log.replication.factor").value());
            assertEquals("2", broker.get("transaction.state.log.min.isr").value());

            TopicPartition tp = new TopicPartition(topic, 0);
            int leader = cluster.leaderOf(tp);
            assertTrue(cluster.nodeIds().contains(leader), "a leader among the nodes: " + leader);
            cluster.kill9(leader);
            assertFalse(cluster.isAlive(leader));
            Waits.until("another node leads " + tp, Duration.ofSeconds(60), Waits.quiet(), () -> {
                int now = cluster.leaderOf(tp);
                return now != -1 && now != leader;
            });
            assertNotEquals(leader, cluster.leaderOf(tp));
            // Two in-sync replicas left: acks=all writes still succeed.
            Properties p = cluster.clientProperties();
            p.put("acks", "all");
            p.put("delivery.timeout.ms", "60000");
            try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
                producer.send(new ProducerRecord<>(topic, 0, "k", "v")).get(60, TimeUnit.SECONDS);
            }

            cluster.restart(leader);
            assertTrue(cluster.isAlive(leader));
            Waits.until("node " + leader + " is in sync again on " + tp, Duration.ofSeconds(90), Waits.quiet(),
                    () -> describe(admin, topic).partitions().get(0).isr().stream().anyMatch(n -> n.id() == leader));
        }
    }

    @Test
    void setup_starts_three_brokers_as_processes_status_lists_them_and_teardown_stops_them() throws Exception {
        int port = TestCluster.freePortRange(6);
        String service = Kit.javaCommandYaml("canary.demo.DummyService", "{context}", "{service}", "{topic}");
        Path ctxFile = dir.resolve("ctx.yaml");
        Files.writeString(ctxFile, "name: replicated\ntopic: orders\npartitions: 3\nstate_dir: state\n"
                + "local:\n  brokers: 3\n  port: " + port + "\n  producer_rate: 20\n"
                + "legacy:\n  group: service_v1\n  run: " + service + "\n"
                + "new:\n  group: service_v2\n  run: " + service + "\n");
        Path state = dir.resolve("state");

        Kit.Run setup = Kit.run(new SetupCommand(), ctxFile.toString(), "--timeout", "3m").ok();
        Processes processes = new Processes(state);
        List<Long> pids = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            assertTrue(setup.out().contains("started KRaft broker-" + i + " on 127.0.0.1:" + (port + 2 * (i - 1))), setup.out());
            assertTrue(processes.isRunning("broker-" + i), "broker-" + i + " runs");
            pids.add(processes.pid("broker-" + i).orElseThrow());
        }
        Properties client = new Properties();
        client.put("bootstrap.servers", "127.0.0.1:" + (port + 4));
        try (Admin admin = Admin.create(client)) {
            assertEquals(3, admin.describeCluster().nodes().get(30, TimeUnit.SECONDS).size());
            TopicDescription d = describe(admin, "orders");
            assertEquals(3, d.partitions().size());
            d.partitions().forEach(p -> assertEquals(3, p.replicas().size(), "the original topic is replicated 3 times: " + p));
        }

        Kit.Run again = Kit.run(new SetupCommand(), ctxFile.toString()).ok();
        for (int i = 1; i <= 3; i++) {
            assertTrue(again.out().contains("broker-" + i + " already runs"), again.out());
            assertEquals(pids.get(i - 1), processes.pid("broker-" + i).orElseThrow(), "nothing restarted");
        }
        Kit.Run status = Kit.run(new StatusCommand(), ctxFile.toString());
        for (int i = 1; i <= 3; i++) {
            assertTrue(status.out().contains("broker-" + i + " pid " + pids.get(i - 1)), status.out());
        }

        Kit.Run down = Kit.run(new TeardownCommand(), ctxFile.toString(), "--yes").ok();
        for (int i = 1; i <= 3; i++) {
            assertTrue(down.out().contains("stopped broker-" + i), down.out());
        }
        for (long pid : pids) {
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "broker process " + pid + " is gone");
        }
        assertFalse(Files.exists(state), "the state folder is gone");
    }

    private static TopicDescription describe(Admin admin, String topic) {
        return whileUnknown(topic, () -> admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic));
    }

    private static Config topicConfig(Admin admin, String topic) {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        return whileUnknown(topic, () -> admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource));
    }

    /**
     * Asks again while the node that answers does not know the topic yet: a topic just created on three nodes
     * reaches each node's metadata a moment apart, and each request may go to another node.
     */
    private static <T> T whileUnknown(String topic, java.util.concurrent.Callable<T> ask) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try {
                return ask.call();
            } catch (Exception e) {
                boolean unknownYet = e.getCause() instanceof UnknownTopicOrPartitionException;
                if (!unknownYet || System.nanoTime() > deadline) {
                    throw new IllegalStateException("cannot describe " + topic + ": " + e.getMessage(), e);
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted describing " + topic, e);
            }
        }
    }
}
