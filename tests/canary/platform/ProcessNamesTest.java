package canary.platform;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.UserException;
import canary.context.Context;

/** Process names per context in a shared state folder; a folder with processes of the kit's earlier names is refused. */
@Tag("fast")
class ProcessNamesTest {

    @TempDir
    Path dir;

    private Context context(String name, String topic) throws Exception {
        Path f = dir.resolve(name + ".yaml");
        Files.writeString(f, "name: " + name + "\ntopic: " + topic + "\nplatform: existing\nstate_dir: state\n"
                + "kafka:\n  bootstrap_servers: 127.0.0.1:1\n"
                + "legacy:\n  group: v1\n  run: [\"true\"]\nnew:\n  group: v2\n  run: [\"true\"]\n");
        return Context.load(f);
    }

    @Test
    void each_context_owns_its_router_producer_and_probe_and_the_versions_of_its_topic() throws Exception {
        Context orders = context("orders", "orders");
        Context payments = context("orders.eu", "payments");
        assertEquals("orders.router-0", ProcessNames.router(orders, 0));
        assertEquals("orders.producer", ProcessNames.producer(orders));
        assertEquals("orders.service-v1", ProcessNames.service("orders", "v1"));
        for (String own : List.of("orders.router-0", "orders.router-12", "orders.producer", "orders.rollout-probe", "orders.service-v1",
                "orders.service-v2-start", "orders.service-v9")) {
            assertTrue(ProcessNames.ownedBy(own, orders, List.of()), own);
            assertFalse(ProcessNames.ownedBy(own, payments, List.of()), own);
            assertTrue(ProcessNames.anyContexts(own), own);
        }
        for (String theirs : List.of("orders.eu.router-0", "orders.eu.producer", "payments.service-v1", "broker", "router-0")) {
            assertFalse(ProcessNames.ownedBy(theirs, orders, List.of()), theirs);
        }
        assertTrue(ProcessNames.ownedBy("orders-1.router-0", orders, List.of("orders-1")), "an earlier release of the topic's router");
        assertFalse(ProcessNames.anyContexts("broker"));
        assertFalse(ProcessNames.anyContexts("killed-step"));
        for (String old : List.of("router-0", "producer", "service-v1")) {
            assertTrue(ProcessNames.old(old), old);
        }
        assertFalse(ProcessNames.old("orders.service-v1"));
        assertFalse(ProcessNames.old("broker"));
    }

    @Test
    void a_state_folder_where_a_process_of_an_earlier_version_runs_is_refused_with_one_line() throws Exception {
        Path state = dir.resolve("state");
        Processes p = new Processes(state);
        ProcessNames.refuseOldProcesses(state);
        p.start("router-0", List.of("sleep", "60"), dir, Map.of());
        try {
            UserException e = assertThrows(UserException.class, () -> ProcessNames.refuseOldProcesses(state));
            assertEquals(UserException.BAD_INPUT, e.exitCode());
            assertTrue(e.getMessage().contains("processes an earlier version of the kit started under names shared by every context (router-0)"),
                    e.getMessage());
            assertFalse(e.getMessage().contains("\n"));
        } finally {
            p.stop("router-0", Duration.ofSeconds(5));
        }
        ProcessNames.refuseOldProcesses(state);
    }

    @Test
    void one_contexts_files_are_deleted_and_the_other_contexts_stay() throws Exception {
        Context orders = context("orders", "orders");
        Path state = dir.resolve("state");
        StateDir.ensure(state);
        for (String f : List.of("pids/orders.router-0.pid", "logs/orders.router-0.log", "logs/orders.service-v1-start.log",
                "supervision/orders.service-v1.json", "supervision/.orders.service-v1.json.tmp", "health/orders.router-0.json",
                "processed/v1.tsv", "supervision/.payments.service-w1.json.tmp",
                "pids/payments.router-0.pid", "logs/payments.service-w1.log", "logs/broker.log", "kafka/meta.properties")) {
            Files.createDirectories(state.resolve(f).getParent());
            Files.writeString(state.resolve(f), "x");
        }
        assertEquals(List.of("broker", "orders.router-0", "orders.service-v1", "orders.service-v1-start", "payments.router-0",
                "payments.service-w1"), StateDir.namesIn(state));
        StateDir.deleteOwn(state, dir.resolve("ctx"), n -> ProcessNames.ownedBy(n, orders, List.of()), List.of("v1", "v2"));
        assertEquals(List.of("broker", "payments.router-0", "payments.service-w1"), StateDir.namesIn(state));
        assertFalse(Files.exists(state.resolve("processed/v1.tsv")));
        // the temporary file of a supervision record written when teardown stopped its supervisor is the version's own
        assertFalse(Files.exists(state.resolve("supervision/.orders.service-v1.json.tmp")));
        assertTrue(Files.exists(state.resolve("supervision/.payments.service-w1.json.tmp")));
        assertTrue(Files.exists(state.resolve("kafka/meta.properties")));
        assertTrue(Files.exists(state.resolve(StateDir.MARKER)));
    }
}
