package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.PromoteCommand;
import canary.cli.RolloutCommand;
import canary.cli.StatusCommand;
import canary.cli.StatusReport;
import canary.common.Waits;
import canary.platform.ProcessVersions;
import canary.release.MigrationState;

/**
 * The context's webhooks during a real release: a local HTTP server receives each event once, field by field, in both formats,
 * and a webhook that never answers is logged and changes no step's result.
 */
class NotificationsTest {

    @TempDir
    Path dir;

    @Test
    void each_event_of_a_release_reaches_the_webhooks_once_and_a_hanging_webhook_changes_no_result() throws Exception {
        Instant begin = Instant.now();
        try (WebhookReceiver hooks = new WebhookReceiver()) {
            String yaml = "notifications:\n"
                    + "  - url: " + hooks.url("/json") + "\n    timeout: 30s\n"
                    + "  - url: " + hooks.url("/slack") + "\n    format: slack\n    timeout: 30s\n"
                    + "  - url: " + hooks.hangingUrl() + "\n    timeout: 1s\n"
                    + "rollout:\n  steps:\n    - share: 0.1\n    - share: 0.5\n"
                    + "  gates:\n    check_data: false\n    command: [\"false\"]\n  on_failure: hold\n";
            try (Kit kit = new Kit(dir, 3, yaml); TestProducer producer = new TestProducer(kit.topic)) {
                kit.legacyHasProcessed(producer, 60);
                Kit.Run migration = kit.migration("0.1").ok();
                assertTrue(migration.err().contains("notification migration to http://127.0.0.1:"), migration.err());
                assertTrue(migration.err().contains("failed: no answer within 1s (the step goes on)"), migration.err());

                kit.updateRate("0.3").ok();
                producer.produce(60);

                // The probe fails: the gate failure and the hold are posted; a second run records nothing new and posts nothing.
                kit.run(new RolloutCommand(), List.of("--timeout", "60s")).expect(1);
                kit.run(new RolloutCommand(), List.of("--timeout", "60s")).expect(1);

                // The new version stops: status turns degraded (posted once, however often status looks).
                kit.processes().stop(kit.versionProcess(canary.context.Role.NEW), Duration.ofSeconds(20));
                Waits.until("status says degraded", Duration.ofSeconds(60), Waits.quiet(),
                        () -> kit.status().exitCode() == StatusReport.Health.DEGRADED.exitCode);
                kit.status().expect(StatusReport.Health.DEGRADED.exitCode);

                kit.run(new PromoteCommand(), List.of("--timeout", "60s")).ok();
                MigrationState done = kit.state();

                ObjectMapper json = new ObjectMapper();
                List<JsonNode> events = new ArrayList<>();
                for (String body : hooks.bodies("/json")) {
                    events.add(json.readTree(body));
                }
                assertEquals(List.of("migration", "share_change", "gate_failure", "hold", "degraded", "promote"),
                        events.stream().map(e -> e.get("event").asText()).toList(), "each event once, in order: " + events);
                for (JsonNode e : events) {
                    assertEquals(List.of("event", "context", "topic", "phase", "share", "time", "details"), fieldNames(e));
                    assertEquals(kit.ctx().name(), e.get("context").asText());
                    assertEquals(kit.topic, e.get("topic").asText());
                    Instant at = Instant.parse(e.get("time").asText());
                    assertTrue(!at.isBefore(begin.minusSeconds(1)) && !at.isAfter(Instant.now()), "time " + at);
                }
                JsonNode mig = events.get(0);
                assertEquals("routing", mig.get("phase").asText());
                assertEquals(0.1, mig.get("share").asDouble());
                assertEquals("random", mig.get("details").get("routing").asText());
                assertEquals(3, mig.get("details").get("partitions").asInt());

                JsonNode change = events.get(1);
                assertEquals("routing", change.get("phase").asText());
                assertEquals(0.3, change.get("share").asDouble());
                assertEquals(0.1, change.get("details").get("from").asDouble());
                assertEquals(0.3, change.get("details").get("to").asDouble());
                assertTrue(change.get("details").get("command").asText().startsWith("update_rate"), change.toString());

                JsonNode gate = events.get(2);
                assertEquals("command", gate.get("details").get("gate").asText());
                assertTrue(gate.get("details").get("reason").asText().contains("exited 1"), gate.toString());
                assertEquals(0.3, gate.get("share").asDouble());
                JsonNode hold = events.get(3);
                assertTrue(hold.get("details").get("reason").asText().startsWith("gate command failed: probe"), hold.toString());

                JsonNode degraded = events.get(4);
                assertEquals("routing", degraded.get("phase").asText());
                assertTrue(degraded.get("details").get("problems").get(0).asText().contains("the new version"), degraded.toString());

                JsonNode promote = events.get(5);
                assertEquals("promoted", promote.get("phase").asText());
                assertEquals(kit.newGroup, promote.get("details").get("group").asText());
                assertEquals(done.lastChange().at(), Instant.parse(promote.get("time").asText()), "the time of the change that promoted");
                assertEquals(3, promote.get("details").get("offsets").size());
                done.handover().offsets().forEach((p, o) -> assertEquals(o.longValue(),
                        promote.get("details").get("offsets").get(String.valueOf(p)).asLong()));

                List<String> slack = hooks.bodies("/slack");
                assertEquals(6, slack.size(), slack.toString());
                for (String body : slack) {
                    JsonNode s = json.readTree(body);
                    assertEquals(List.of("text"), fieldNames(s));
                    assertTrue(s.get("text").asText().startsWith("canary-router " + kit.ctx().name() + " (topic " + kit.topic + "): "), body);
                }
                assertTrue(json.readTree(slack.get(1)).get("text").asText().contains("share changed from 10 % to 30 %"), slack.get(1));
            }
        }
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
