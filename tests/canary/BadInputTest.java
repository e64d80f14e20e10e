package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.CheckDataCommand;
import canary.cli.MigrationCommand;
import canary.cli.PromoteCommand;
import canary.cli.RouterCommand;
import canary.cli.StatusCommand;
import canary.cli.UpdateRateCommand;
import canary.kafka.KafkaCluster;
import canary.platform.ProcessVersions;
import canary.platform.broker.LocalBroker;

/** Bad input gets one clear line and a non-zero exit, and nothing is changed. */
class BadInputTest {

    @TempDir
    Path dir;

    static void assertOneLine(Kit.Run run, int code, String contains) {
        run.expect(code);
        String err = run.err().strip();
        assertFalse(err.contains("\n"), "one line, got:\n" + err);
        assertFalse(err.contains("at canary.") || err.contains("Exception"), "no stack trace:\n" + err);
        assertTrue(err.contains(contains), "expected '" + contains + "' in: " + err);
    }

    @Test
    void a_broken_context_file_is_one_line() throws Exception {
        Path missing = dir.resolve("missing.yaml");
        assertOneLine(Kit.run(new StatusCommand(), missing.toString()), 2, "the context file does not exist");
        Path malformed = dir.resolve("malformed.yaml");
        Files.writeString(malformed, "name: [oops\n");
        assertOneLine(Kit.run(new MigrationCommand(), malformed.toString()), 2, "not valid YAML");
        Path unknown = dir.resolve("unknown.yaml");
        Files.writeString(unknown, ContextTest.VALID + "colour: blue\n");
        assertOneLine(Kit.run(new PromoteCommand(), unknown.toString()), 2, "unknown key 'colour'");
        Path env = dir.resolve("env.yaml");
        Files.writeString(env, ContextTest.VALID + "kafka:\n  bootstrap_servers: ${CANARY_UNSET_VARIABLE}\n");
        assertOneLine(Kit.run(new CheckDataCommand(), env.toString()), 2, "CANARY_UNSET_VARIABLE is not set");
        assertOneLine(Kit.run(new UpdateRateCommand()), 2, "Missing required parameter: 'CONTEXT'");
    }

    @Test
    void a_router_before_any_migration_is_one_line() throws Exception {
        try (Kit kit = new Kit(dir, 2, "")) {
            assertOneLine(Kit.run(new RouterCommand(), kit.contextFile.toString()), 2, "no migration for context '" + kit.topic
                    + "' (no state in " + kit.topic + "_canary_state): run migration.java first");
        }
    }

    @Test
    void an_unreachable_broker_is_one_line_after_a_bounded_wait() throws Exception {
        Path ctx = dir.resolve("unreachable.yaml");
        Files.writeString(ctx, ContextTest.VALID + "platform: existing\nkafka:\n  bootstrap_servers: 127.0.0.1:" + LocalBroker.freePort() + "\n");
        long t0 = System.nanoTime();
        assertOneLine(Kit.run(new StatusCommand(), ctx.toString()), 3, "cannot reach Kafka at 127.0.0.1:");
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 60, "the wait is bounded");
    }

    @Test
    void lifecycle_misuse_is_refused_and_the_state_stays_as_it_was() throws Exception {
        try (Kit kit = new Kit(dir, 3, ""); TestProducer producer = new TestProducer(kit.topic)) {
            producer.produce(100);
            assertOneLine(kit.promote(), 2, "no migration for context");
            assertOneLine(kit.updateRate("0.5"), 2, "no migration for context");
            assertNull(kit.state(), "nothing was written");

            kit.startLegacy();
            kit.awaitDrained(kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
            // The legacy group has committed nothing on a partition: refuse, naming it, unless told where to start.
            try (KafkaCluster c = kit.cluster()) {
                assertEquals(3, c.committedOffsets(kit.legacyGroup, kit.topic).size());
            }
            kit.migration("0.2").ok();
            long version = kit.state().version();

            assertOneLine(kit.migration("0.3"), 2, "a migration is already active");
            assertOneLine(kit.updateRate("1.5"), 2, "invalid share '1.5'");
            assertOneLine(kit.updateRate("lots"), 2, "invalid share 'lots'");
            assertOneLine(kit.updateRate("-0.1"), 2, "invalid share '-0.1'");
            assertOneLine(kit.migration("0.2", "--missing-offsets", "sometimes"), 2, "Invalid value for option '--missing-offsets'");
            assertEquals(version, kit.state().version(), "state unchanged");
            assertEquals(0.2, kit.state().share());

            kit.promote().ok();
            long promoted = kit.state().version();
            assertOneLine(kit.updateRate("0.5"), 2, "it is promoted");
            assertOneLine(kit.checkData(), 2, "it is promoted");
            assertOneLine(kit.rollback(), 2, "cannot roll back");
            assertOneLine(kit.migration("0.1"), 2, "was promoted");
            assertEquals(promoted, kit.state().version(), "state unchanged");
        }
    }

    @Test
    void a_partition_without_a_committed_offset_is_named() throws Exception {
        try (Kit kit = new Kit(dir, 2, "")) {
            assertOneLine(kit.migration("0.1"), 2, "has no committed offset on partition(s) [0, 1]");
            assertNull(kit.state(), "nothing was written");
            Kit.Run dry = kit.migration("0.1", "--missing-offsets", "earliest", "--dry-run").ok();
            assertTrue(dry.out().contains("START OFFSET"), dry.out());
            assertNull(kit.state(), "a dry run writes nothing");
        }
    }
    @Test
    void a_migration_that_fails_part_way_removes_what_it_created_and_gives_the_topic_back_to_legacy() throws Exception {
        try (Kit kit = new Kit(dir, 2, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.legacyHasProcessed(producer, 40);
            // The new version's command does not exist: the migration fails after legacy was stopped and topics were made.
            String yaml = Files.readString(kit.contextFile);
            int at = yaml.indexOf("new:\n");
            Files.writeString(kit.contextFile, yaml.substring(0, at) + "new:\n  group: " + kit.newGroup
                    + "\n  run: [\"" + dir.resolve("no-such-service") + "\", \"{topic}\"]\n");
            Kit.Run failed = kit.migration("0.5");
            assertOneLine(failed, 2, "the new version exited right after it started");
            assertTrue(failed.out().contains("restored: the legacy version runs on " + kit.topic), failed.out());
            assertNull(kit.state(), "no migration state is left");
            try (KafkaCluster c = kit.cluster()) {
                assertFalse(c.topicExists(kit.topic + "_legacy"));
                assertFalse(c.topicExists(kit.topic + "_new"));
            }
            assertTrue(kit.processes().isRunning(ProcessVersions.processName(kit.legacyGroup)), "legacy runs again");
            producer.produce(30);
            kit.awaitDrained(kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(producer.ids());
        }
    }
}
