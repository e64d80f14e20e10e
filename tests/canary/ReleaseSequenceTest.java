package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.StatusCommand;
import canary.cli.TeardownCommand;
import canary.kafka.KafkaCluster;
import canary.platform.ProcessVersions;
import canary.release.MigrationState.Phase;

/**
 * Two releases of one topic in sequence, on one cluster and one state_dir, as the README's "Releasing again" describes: v1 → v2
 * with the first context, then v2 → v3 with a second context whose legacy is the promoted version. Producers write throughout.
 */
class ReleaseSequenceTest {

    @TempDir
    Path dir;

    @Test
    void the_next_release_takes_over_the_promoted_version_and_every_record_is_processed_once_by_v1_v2_or_v3() throws Exception {
        try (Kit first = new Kit(dir, 2, ""); TestProducer producer = new TestProducer(first.topic)) {
            Kit second = first.next();
            assertEquals(first.newGroup, second.legacyGroup);
            first.legacyHasProcessed(producer, 100);
            producer.startBackground(100);

            first.migration("0.3").ok();
            first.awaitRouted(100);
            first.updateRate("0.7").ok();
            first.awaitRouted(200);
            first.promote().ok();
            String v2 = ProcessVersions.processName(first.topic, first.newGroup);
            long promotedPid = first.processes().pid(v2).orElseThrow(() -> new AssertionError("the promoted version runs as " + v2));
            Kit.run(new StatusCommand(), first.contextFile.toString()).ok();

            // The second context's legacy is the process the promotion left running: its migration stops it and starts it again
            // on <topic>_legacy, whatever the first context's state says.
            Kit.Run migrated = second.migration("0.3").ok();
            assertTrue(migrated.out().contains("stopped the legacy version (group " + first.newGroup + ")"), migrated.out());
            assertFalse(ProcessHandle.of(promotedPid).map(ProcessHandle::isAlive).orElse(false), "the promoted process was stopped");
            assertNotEquals(promotedPid, second.processes().pid(v2).orElseThrow(), "v2 runs again, on " + first.topic + "_legacy");
            second.awaitRouted(100);

            // The first context, run again, leaves the second release's routing alone; its status names the later release.
            Kit.Run again = first.promote().ok();
            assertTrue(again.out().contains("already promoted") && again.out().contains("nothing removed"), again.out());
            try (KafkaCluster c = first.cluster()) {
                assertTrue(c.topicExists(first.topic + "_legacy") && c.topicExists(first.topic + "_new"), "the routing topics stay");
                assertFalse(c.members(second.ctx().routerGroup()).isEmpty(), "the second release's router runs");
            }
            Kit.Run firstStatus = Kit.run(new StatusCommand(), first.contextFile.toString()).ok();
            assertTrue(firstStatus.out().contains("later     context '" + second.ctx().name() + "' (routing"), firstStatus.out());
            // A third context cannot start while the second releases the topic.
            Kit.Run third = first.next().next().migration("0.1").expect(2);
            assertTrue(third.err().contains("context '" + second.ctx().name() + "' is releasing " + first.topic), third.err());

            second.updateRate("0.7").ok();
            second.awaitRouted(200);
            Kit.run(new StatusCommand(), second.contextFile.toString()).ok();
            second.promote().ok();

            List<String> produced = producer.stop();
            second.awaitDrained(second.newGroup, second.topic, Duration.ofSeconds(60));
            second.assertExactlyOnce(produced, List.of(first.legacyGroup, first.newGroup, second.newGroup));
            for (String group : List.of(first.legacyGroup, first.newGroup, second.newGroup)) {
                assertFalse(first.processed(group).isEmpty(), group + " processed records");
            }
            assertTrue(first.processed(first.newGroup).stream().anyMatch(p -> p.topic().equals(first.topic + "_legacy")),
                    "v2 processed records routed to legacy in the second release");

            Kit.Run secondStatus = Kit.run(new StatusCommand(), second.contextFile.toString()).ok();
            assertTrue(secondStatus.out().contains("phase     promoted"), secondStatus.out());
            assertFalse(second.processes().isRunning(v2), "v2 is stopped");
            assertTrue(second.processes().isRunning(ProcessVersions.processName(second.topic, second.newGroup)), "v3 runs");
            // v2 consumes nothing any more; the first context's status is still healthy: the topic is the second release's.
            Kit.run(new StatusCommand(), first.contextFile.toString()).ok();

            // Teardown of the first context deletes only its state: v3, the state topic and the state folder are the second's.
            Kit.Run forgot = Kit.run(new TeardownCommand(), first.contextFile.toString(), "--yes").ok();
            assertTrue(forgot.out().contains("deleted the state of context '" + first.ctx().name() + "'"), forgot.out());
            assertNull(first.state());
            assertEquals(Phase.PROMOTED, second.state().phase());
            assertTrue(second.processes().isRunning(ProcessVersions.processName(second.topic, second.newGroup)), "v3 still runs");
            Kit.run(new StatusCommand(), second.contextFile.toString()).ok();
            // The second's teardown removes what is left.
            Kit.run(new TeardownCommand(), second.contextFile.toString(), "--yes").ok();
            try (KafkaCluster c = first.cluster()) {
                assertFalse(c.topicExists(second.ctx().stateTopic()), "the state topic is deleted");
            }
            assertFalse(second.processes().isRunning(ProcessVersions.processName(second.topic, second.newGroup)), "v3 is stopped");
        }
    }
}
