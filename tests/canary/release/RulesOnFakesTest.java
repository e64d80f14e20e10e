package canary.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.cli.MigrationCommand;
import canary.cli.StatusCommand;
import canary.cli.UpdateRateCommand;
import canary.common.Json;
import canary.common.UserException;
import canary.context.Routing;
import canary.context.Rule;
import canary.release.CommandsOnFakesTest.Run;
import canary.release.Fakes.World;

/**
 * Match rules and whole-partition routing through the release logic and the scripts' commands, on fakes: what the state
 * records, when a change drains, what is refused (one line, nothing changed).
 */
@Tag("fast")
class RulesOnFakesTest {

    @TempDir
    Path dir;

    static List<Rule> rules(String... specs) {
        return Rule.parseAll(List.of(specs));
    }

    static Run run(World w, canary.cli.ContextCommand command, String... args) {
        String[] all = new String[args.length + 1];
        all[0] = w.ctx.file().toString();
        System.arraycopy(args, 0, all, 1, args.length);
        return CommandsOnFakesTest.run(w, command, all);
    }

    /** The refusal of {@code step}: one line, and the state as it was. */
    static String refused(World w, Runnable step) {
        MigrationState before = w.store.state;
        UserException e = assertThrows(UserException.class, step::run);
        assertTrue(!e.getMessage().contains("\n"), e.getMessage());
        assertEquals(before, w.store.state, "nothing changed");
        return e.getMessage();
    }

    @Nested
    class Rules {

        @Test
        void a_migration_starts_with_the_rules_of_the_context_file_and_records_them_in_the_state() throws Exception {
            World w = new World(dir, "rules:\n  - header:tenant=beta\n", UnaryOperator.identity());
            w.lifecycle.migrate(0.0, Lifecycle.MissingOffsets.FAIL, false, false);
            MigrationState s = w.store.state;
            assertEquals(rules("header:tenant=beta"), s.rules());
            assertEquals(0.0, s.share());
            assertEquals("migration started at share 0 %, rules header:tenant=beta", s.shareSet().what());
            // In the state topic: typed, snake_case, and read back the same.
            JsonNode json = Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(s));
            assertEquals("[{\"to\":\"new\",\"match\":\"header\",\"header\":\"tenant\",\"values\":[\"beta\"]}]", json.get("rules").toString());
            assertTrue(!json.has("new_partitions") && !json.has("route"), json.toString());
            assertEquals(s, Json.MAPPER.readValue(Json.MAPPER.writeValueAsString(s), MigrationState.class));
        }

        @Test
        void a_state_written_before_rules_existed_reads_as_no_rules() throws Exception {
            World w = new World(dir, "", UnaryOperator.identity());
            w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false);
            com.fasterxml.jackson.databind.node.ObjectNode old = (com.fasterxml.jackson.databind.node.ObjectNode)
                    Json.MAPPER.valueToTree(w.store.state);
            old.remove("rules");
            MigrationState read = Json.MAPPER.treeToValue(old, MigrationState.class);
            assertEquals(List.of(), read.rules());
            assertNull(read.newPartitions());
        }

        @Test
        void given_at_migration_they_replace_the_context_files() throws Exception {
            World w = new World(dir, "rules:\n  - header:tenant=beta\n", UnaryOperator.identity());
            Run r = run(w, new MigrationCommand(), "0", "--rule", "key:acct-1,acct-2", "--rule", "legacy:key-prefix:vip-");
            assertEquals(0, r.code(), r.err());
            assertEquals(rules("key:acct-1,acct-2", "legacy:key-prefix:vip-"), w.store.state.rules());
            assertTrue(r.out().contains("random routing, share 0 %, rules key:acct-1,acct-2 legacy:key-prefix:vip- to the new version"), r.out());
        }

        @Test
        void a_change_of_rules_drains_first_even_with_random_routing_and_keeps_the_share() throws Exception {
            World w = new World(dir, "", UnaryOperator.identity());
            w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false);
            w.engine.calls.clear();
            w.clock.advance(java.time.Duration.ofMinutes(3));
            Run r = run(w, new UpdateRateCommand(), "--rule", "header:tenant=beta");
            assertEquals(0, r.code(), r.err());
            assertEquals(List.of("pause", "share 0.1 rules header:tenant=beta", "resume"), w.engine.calls,
                    "a record a rule moves keeps its order: the version it leaves finishes first");
            MigrationState s = w.store.state;
            assertEquals(0.1, s.share());
            assertEquals(rules("header:tenant=beta"), s.rules());
            assertEquals(w.clock.instant(), s.shareSet().at(), "the change that set the routing is recorded");
            assertEquals("rules none -> header:tenant=beta (drained)", s.lastChange().what());
            assertTrue(r.out().contains("rules: none -> header:tenant=beta"), r.out());
            assertTrue(w.store.writes.stream().anyMatch(x -> !x.routerRunning()), "the run flag was off while draining");

            w.engine.calls.clear();
            assertEquals(0, run(w, new UpdateRateCommand(), "30%").code(), "a share change alone keeps the rules");
            assertEquals(List.of("share 0.3 rules header:tenant=beta", "resume"), w.engine.calls, "random routing: no drain");
            assertEquals(rules("header:tenant=beta"), w.store.state.rules());

            Run none = run(w, new UpdateRateCommand(), "--no-rules", "--dry-run");
            assertTrue(none.out().contains("dry run: would change the rules header:tenant=beta -> none, draining first"), none.out());
            assertEquals(rules("header:tenant=beta"), w.store.state.rules(), "a dry run changes nothing");
            assertEquals(0, run(w, new UpdateRateCommand(), "--no-rules").code());
            assertEquals(List.of(), w.store.state.rules());
        }

        @Test
        void the_same_rules_again_change_nothing() throws Exception {
            World w = new World(dir, "rules:\n  - header:tenant=beta\n", UnaryOperator.identity());
            w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false);
            MigrationState before = w.store.state;
            Run r = run(w, new UpdateRateCommand(), "10%", "--rule", "header:tenant=beta");
            assertEquals(0, r.code());
            assertTrue(r.out().contains("the routing is already share 10 %, rules header:tenant=beta: nothing to do"), r.out());
            assertEquals(before, w.store.state);
        }

        @Test
        void bad_rules_are_one_line_exit_2_and_change_nothing() throws Exception {
            World w = new World(dir, "", UnaryOperator.identity());
            w.lifecycle.migrate(0.1, Lifecycle.MissingOffsets.FAIL, false, false);
            MigrationState before = w.store.state;
            for (String[] args : List.of(
                    new String[] {"--rule", "header:tenant"},
                    new String[] {"--rule", "key:a", "--rule", "legacy:key:a"},
                    new String[] {"--rule", "key:a", "--no-rules"},
                    new String[] {"--partitions", "0,1"},
                    new String[] {})) {
                Run r = run(w, new UpdateRateCommand(), args);
                assertEquals(2, r.code(), String.join(" ", args) + ": " + r.out() + r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                assertEquals(before, w.store.state);
            }
            assertTrue(run(w, new UpdateRateCommand(), "--partitions", "0,1").err()
                    .contains("--partitions needs 'routing: partitions' in the context; context 'fake' routes random"));
            assertTrue(run(w, new UpdateRateCommand()).err().contains("nothing to change: give a share (0.5, 50%), --partitions, --rule or --no-rules"));
            assertTrue(run(w, new UpdateRateCommand(), "--rule", "key:a", "--no-rules").err().contains("mutually exclusive"));
        }

        @Test
        void status_shows_the_rules_in_its_table_and_its_json() throws Exception {
            World w = new World(dir, "", UnaryOperator.identity());
            run(w, new MigrationCommand(), "0", "--rule", "header:tenant=beta", "--rule", "legacy:key-prefix:vip-");
            Run table = run(w, new StatusCommand());
            assertTrue(table.out().contains("rules     header:tenant=beta -> new; legacy:key-prefix:vip- -> legacy (before the share)"),
                    table.out());
            JsonNode json = Json.MAPPER.readTree(run(w, new StatusCommand(), "--output", "json").out());
            assertEquals("legacy", json.get("rules").get(1).get("to").asText());
            assertEquals("key-prefix", json.get("rules").get(1).get("match").asText());
            assertEquals("vip-", json.get("rules").get(1).get("values").get(0).asText());
        }
    }

    @Nested
    class Whole_partitions {

        World w;

        World world() throws Exception {
            w = new World(dir, "routing: partitions\n", UnaryOperator.identity());
            w.cluster.topic("orders", 6, 100);
            w.cluster.committed.put(Fakes.FakeCluster.key("service_v1", "orders"),
                    new java.util.TreeMap<>(java.util.Map.of(0, 1L, 1, 2L, 2, 3L, 3, 4L, 4, 5L, 5, 6L)));
            return w;
        }

        @Test
        void the_share_picks_the_first_partitions_and_raising_it_adds_partitions_after_a_drain() throws Exception {
            world();
            Run m = run(w, new MigrationCommand(), String.valueOf(2.0 / 6));
            assertEquals(0, m.code(), m.err());
            assertEquals(List.of(0, 1), w.store.state.newPartitions());
            assertEquals(Routing.PARTITIONS, w.store.state.routing());
            w.engine.calls.clear();

            Run r = run(w, new UpdateRateCommand(), "66%");
            assertEquals(0, r.code(), r.err());
            assertEquals(List.of(0, 1, 2, 3), w.store.state.newPartitions());
            assertEquals(List.of("pause", "share 0.66 partitions [0, 1, 2, 3]", "resume"), w.engine.calls,
                    "a partition changes version only once the one it leaves has processed all of its records");
            assertTrue(r.out().contains("partitions of the new version: 0, 1 -> 0, 1, 2, 3 (of 6)"), r.out());
            assertTrue(w.store.state.lastChange().what().endsWith("(drained)"));

            w.engine.calls.clear();
            assertEquals(0, run(w, new UpdateRateCommand(), "0.6").code());
            assertEquals(List.of(0, 1, 2, 3), w.store.state.newPartitions(), "ceil(0.6 x 6) = 4: the same partitions");
            assertEquals(List.of("share 0.6 partitions [0, 1, 2, 3]", "resume"), w.engine.calls, "no partition moves: no drain");

            JsonNode json = Json.MAPPER.readTree(run(w, new StatusCommand(), "--output", "json").out());
            assertEquals("[0,1,2,3]", json.get("new_partitions").toString());
            assertEquals("partitions", json.get("routing").asText());
            assertTrue(run(w, new StatusCommand()).out().contains("routing partitions: partition(s) 0, 1, 2, 3 of 6"));
        }

        @Test
        void an_explicit_list_can_be_given_and_lowering_hands_partitions_back_after_a_drain() throws Exception {
            world();
            Run m = run(w, new MigrationCommand(), "--partitions", "1,3");
            assertEquals(0, m.code(), m.err());
            assertEquals(List.of(1, 3), w.store.state.newPartitions());
            assertEquals(2.0 / 6, w.store.state.share(), 1e-12);
            w.engine.calls.clear();
            Run r = run(w, new UpdateRateCommand(), "--partitions", "3");
            assertEquals(0, r.code(), r.err());
            assertEquals(List.of(3), w.store.state.newPartitions());
            assertEquals("pause", w.engine.calls.get(0));
            assertTrue(r.out().contains("partition(s) 1 went back to the legacy version"), r.out());
        }

        @Test
        void what_cannot_be_is_refused_in_one_line_before_anything_changes() throws Exception {
            world();
            assertTrue(run(w, new MigrationCommand(), "--partitions", "0,6").err().contains("partition 6 is not a partition of orders"));
            assertTrue(run(w, new MigrationCommand(), "0.5", "--partitions", "0").err().contains("give either a share or --partitions"));
            assertTrue(run(w, new MigrationCommand(), "0.5", "--rule", "key:a").err()
                    .contains("rules and routing partitions exclude each other"));
            assertNull(w.store.state, "no migration was started");
            w.lifecycle.migrate(0.5, Lifecycle.MissingOffsets.FAIL, false, false);
            assertTrue(refused(w, () -> w.lifecycle.updateRouting(new RouteRequest(null, null, rules("key:a")), false, false))
                    .contains("rules and routing partitions exclude each other"));
        }
    }
}
