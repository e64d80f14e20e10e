package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.RouterCommand;
import canary.cli.SetupCommand;
import canary.common.Json;
import canary.common.Waits;
import canary.context.Role;
import canary.platform.Processes;
import canary.platform.Supervisor;
import canary.release.MigrationState;

/**
 * The kit keeps what it started alive: versions and router instance 0 SIGKILLed mid-release come back under their
 * supervisors (or with setup.java when the supervisor died too), status counts the restarts, and the release completes
 * with every record processed once.
 */
class SupervisionTest {

    @TempDir
    Path dir;

    static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    static void awaitHealthy(Kit kit) {
        Waits.until("status is healthy", Duration.ofSeconds(90), Waits.quiet(), () -> kit.status().exitCode() == 0);
    }

    @Test
    void a_version_and_the_router_killed_mid_release_are_restarted_and_counted_and_rollback_completes() throws Exception {
        try (Kit kit = new Kit(dir, 4, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.routing(producer, 200, 200, "0.5");

            Processes p = kit.processes();
            String newVersion = kit.versionProcess(Role.NEW);
            long killed = Kit.kill9Child(p, newVersion);
            Supervisor.Record version = Kit.awaitRestarted(p, newVersion, 1);
            assertEquals(137, version.lastExit());
            assertTrue(version.childPid() != killed, "a new process");
            Kit.kill9Child(p, kit.routerProcess(0));
            assertEquals(137, Kit.awaitRestarted(p, kit.routerProcess(0), 1).lastExit());
            kit.awaitRouted(400);

            awaitHealthy(kit);
            String status = kit.status().ok().out();
            assertTrue(status.contains(newVersion + " runs (pid " + version.childPid() + "), restarted 1 time (last exit code 137"), status);
            assertTrue(status.contains(kit.routerProcess(0) + " runs (pid "), status);
            String json = kit.status("--output", "json").ok().out();
            JsonNode processes = Json.MAPPER.readTree(json).get("processes");
            assertTrue(processes.isArray() && processes.size() >= 3, json);

            Kit.Run rollback = kit.rollback().ok();
            assertTrue(rollback.out().contains("rolled back"), rollback.out());
            List<String> produced = producer.stop();
            kit.awaitDrained(kit.legacyGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced, kit.newGroup, kit.ctx().newTopic());
            assertEquals(MigrationState.Phase.ROLLED_BACK, kit.state().phase());
        }
    }

    @Test
    void setup_brings_back_a_version_and_the_router_whose_supervisors_were_killed_too() throws Exception {
        try (Kit kit = new Kit(dir, 2, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.routing(producer, 100, 100, "0.2");

            Processes p = kit.processes();
            String legacy = kit.versionProcess(Role.LEGACY);
            assertTrue(Kit.kill9(p, legacy));
            assertTrue(Kit.kill9(p, kit.routerProcess(0)));
            assertTrue(kit.status().out().contains(legacy + " is gone with its supervisor: setup.java brings it back"), kit.status().out());
            Waits.until("status says routing is down", Duration.ofSeconds(60), Waits.quiet(),
                    () -> kit.status().out().contains("DEGRADED: routing should run but no routing instance is in group"));

            Kit.Run setup = kit.run(new SetupCommand(), List.of()).ok();
            assertTrue(setup.out().contains("started the legacy version"), setup.out());
            assertTrue(setup.out().contains("started router instance 0"), setup.out());
            assertTrue(setup.out().contains("new version (" + kit.newGroup + ") already runs"), setup.out());
            kit.awaitRouted(250);
            awaitHealthy(kit);

            kit.promote().ok();
            List<String> produced = producer.stop();
            kit.awaitDrained(kit.newGroup, kit.topic, Duration.ofSeconds(60));
            kit.assertExactlyOnce(produced, kit.legacyGroup, kit.ctx().legacyTopic());

            // After the promotion, setup brings back the owner of the topic, the new version, and never the legacy one.
            assertTrue(Kit.kill9(p, kit.versionProcess(Role.NEW)));
            Kit.Run again = kit.run(new SetupCommand(), List.of()).ok();
            assertTrue(again.out().contains("started the new version (group " + kit.newGroup + ") on " + kit.topic), again.out());
            assertFalse(p.isRunning(legacy), "the legacy version stays stopped");
        }
    }

    @Test
    void a_router_instance_number_runs_once_and_writes_its_health() throws Exception {
        try (Kit kit = new Kit(dir, 2, ""); TestProducer producer = new TestProducer(kit.topic)) {
            kit.routing(producer, 50, 50, "0.5");

            Path health = kit.ctx().stateDir().resolve("health/" + kit.routerProcess(0) + ".json");
            long child = kit.processes().supervision(kit.routerProcess(0)).orElseThrow().childPid();
            Waits.until(kit.routerProcess(0) + " says it routes", Duration.ofSeconds(30), Waits.quiet(),
                    () -> Files.exists(health) && read(health).contains("\"status\":\"routing\""));
            JsonNode h = Json.MAPPER.readTree(Files.readString(health));
            assertEquals(0, h.get("instance").asInt());
            assertEquals(child, h.get("pid").asLong());
            assertEquals("routing", h.get("phase").asText());

            // On this host: the instance's lock.
            Kit.Run here = kit.run(new RouterCommand(), List.of("--instance", "0"));
            BadInputTest.assertOneLine(here, 2, "router instance 0 of context '" + kit.topic + "' already runs on this host");
            // Elsewhere (another state folder, as on another host): the router group, once the live member outlives a session.
            Path elsewhere = dir.resolve("elsewhere.yaml");
            Files.writeString(elsewhere, Files.readString(kit.contextFile).replace("state_dir: state", "state_dir: state-elsewhere"));
            Kit.Run there = Kit.run(new RouterCommand(), elsewhere.toString(), "--instance", "0");
            BadInputTest.assertOneLine(there, 2, "router instance 0 of context '" + kit.topic + "' already runs (canary-router-" + kit.topic + "-0 on");
            assertTrue(Files.readString(dir.resolve("state-elsewhere/health/" + kit.routerProcess(0) + ".json")).contains("\"status\":\"refused\""));
            assertEquals(child, kit.processes().supervision(kit.routerProcess(0)).orElseThrow().childPid(), "the running instance was left alone");
            assertEquals(0, kit.processes().supervision(kit.routerProcess(0)).orElseThrow().restarts());

            kit.promote().ok();
            producer.stop();
            String last = Files.readString(health);
            assertTrue(last.contains("\"status\":\"exited\"") || last.contains("\"status\":\"stopped\""), last);
        }
    }
}
