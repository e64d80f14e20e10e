package canary;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.StatusCommand;
import canary.kafka.KafkaCluster;
import canary.platform.ProcessVersions;
import canary.platform.broker.LocalBroker;

/**
 * What bad input does beyond the one line and the unchanged state that {@link BadInputCatalogueTest} checks for every case:
 * how long an unreachable broker takes, a dry run past a refusal, a migration that fails part-way and undoes itself.
 */
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
    void an_unreachable_broker_is_reported_after_a_bounded_wait_even_with_the_default_timeout() throws Exception {
        // The line itself is in BadInputCatalogueTest; here: how long it takes without --timeout.
        Path ctx = dir.resolve("unreachable.yaml");
        Files.writeString(ctx, ContextTest.VALID + "platform: existing\nkafka:\n  bootstrap_servers: 127.0.0.1:" + LocalBroker.freePort() + "\n");
        long t0 = System.nanoTime();
        Kit.run(new StatusCommand(), ctx.toString()).expect(3);
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 60, "the wait is bounded");
    }

    @Test
    void a_dry_run_that_starts_partitions_without_a_committed_offset_at_the_earliest_shows_the_start_offsets_and_writes_nothing()
            throws Exception {
        try (Kit kit = new Kit(dir, 2, "")) {
            Kit.Run dry = kit.migration("0.1", "--missing-offsets", "earliest", "--dry-run").ok();
            assertTrue(dry.out().contains("START OFFSET"), dry.out());
            assertNull(kit.state(), "a dry run writes nothing");
        }
    }

    @Test
    void a_migration_that_fails_part_way_removes_what_it_created_and_gives_the_topic_back_to_legacy() throws Exception {
        try (Kit kit = new Kit(dir, 2, ""); TestProducer producer = new TestProducer(kit.topic)) {
            // The new version's command does not exist: the migration fails after legacy was stopped and topics were made.
            Kit.Run failed = migrationWithNewVersion(kit, producer, "[\"" + dir.resolve("no-such-service") + "\", \"{topic}\"]", "0.5");
            assertOneLine(failed, 2, "the new version exited right after it started");
            try (KafkaCluster c = kit.cluster()) {
                assertFalse(c.topicExists(kit.topic + "_legacy"));
                assertFalse(c.topicExists(kit.topic + "_new"));
            }
            assertFalse(Files.exists(kit.ctx().stateDir().resolve(kit.topic + ".lock")), "the failed command left no lock file");
            assertLegacyGotTheTopicBack(kit, producer, failed);
        }
    }

    @Test
    void a_new_version_that_runs_but_never_joins_its_group_fails_the_migration_and_legacy_gets_the_topic_back() throws Exception {
        try (Kit kit = new Kit(dir, 2, ""); TestProducer producer = new TestProducer(kit.topic)) {
            // The new version's process runs, but consumes nothing: the migration must not say it started routing to it.
            Kit.Run failed = migrationWithNewVersion(kit, producer, "[\"sleep\", \"600\"]", "0.5", "--timeout", "20s");
            assertOneLine(failed, 3, "waiting until the new version has joined its group " + kit.newGroup + " (still no member yet (its log: ");
            assertFalse(kit.processes().isRunning(ProcessVersions.processName(kit.topic, kit.newGroup)), "the new version was stopped");
            assertLegacyGotTheTopicBack(kit, producer, failed);
        }
    }

    /** Legacy has processed some records; then a migration with {@code run} as the new version's command. */
    private static Kit.Run migrationWithNewVersion(Kit kit, TestProducer producer, String run, String... args) throws Exception {
        kit.legacyHasProcessed(producer, 40);
        String yaml = Files.readString(kit.contextFile);
        int at = yaml.indexOf("new:\n");
        Files.writeString(kit.contextFile, yaml.substring(0, at) + "new:\n  group: " + kit.newGroup + "\n  run: " + run + "\n");
        return kit.migration(args);
    }

    /** A failed migration left no state, legacy runs on the topic again and processes what comes next, every record once. */
    private static void assertLegacyGotTheTopicBack(Kit kit, TestProducer producer, Kit.Run failed) throws Exception {
        assertTrue(failed.out().contains("restored: the legacy version runs on " + kit.topic), failed.out());
        assertNull(kit.state(), "no migration state is left");
        assertTrue(kit.processes().isRunning(ProcessVersions.processName(kit.topic, kit.legacyGroup)), "legacy runs again");
        producer.produce(30);
        kit.awaitDrained(kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
        kit.assertExactlyOnce(producer.ids());
    }
}
