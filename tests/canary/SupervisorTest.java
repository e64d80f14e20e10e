package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.platform.Processes;
import canary.platform.Supervisor;

/** The supervisor that keeps the kit's local processes alive: real child JVMs, killed with SIGKILL. */
class SupervisorTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path state;
    Processes processes;

    @BeforeEach
    void setUp() {
        processes = new Processes(state);
    }

    @AfterEach
    void stopEverything() {
        for (String name : processes.running()) {
            processes.stop(name, Duration.ofSeconds(5));
        }
    }

    private Supervisor.Record awaitRecord(String name, String what, java.util.function.Predicate<Supervisor.Record> p) {
        Waits.until(name + ": " + what, WAIT, Waits.quiet(), () -> processes.supervision(name).filter(p).isPresent());
        return processes.supervision(name).orElseThrow();
    }

    private String log(String name) throws IOException {
        return Files.readString(processes.logFile(name));
    }

    @Test
    void a_killed_child_is_started_again_and_counted_and_stop_ends_both() throws Exception {
        processes.start("svc", ChildProcesses.sleeper("one"), state, Map.of(), true);
        Supervisor.Record first = awaitRecord("svc", "runs", r -> r.phase() == Supervisor.Phase.RUNNING && r.childPid() > 0);
        assertEquals(0, first.restarts());
        long supervisorPid = processes.pid("svc").orElseThrow();
        assertNotEquals(supervisorPid, first.childPid(), "the recorded process is the supervisor, the child is another");

        ProcessHandle.of(first.childPid()).orElseThrow().destroyForcibly();
        Supervisor.Record second = awaitRecord("svc", "runs again", r -> r.phase() == Supervisor.Phase.RUNNING && r.childPid() != first.childPid());
        assertEquals(1, second.restarts());
        assertEquals(137, second.lastExit(), "SIGKILL");
        assertTrue(second.describe().contains("restarted 1 time (last exit code 137"), second.describe());
        assertTrue(log("svc").contains("svc exited with code 137 (SIGKILL)"), log("svc"));
        assertEquals(supervisorPid, processes.pid("svc").orElseThrow(), "the supervisor itself did not change");

        processes.stop("svc", Duration.ofSeconds(10));
        assertFalse(ProcessHandle.of(second.childPid()).map(ProcessHandle::isAlive).orElse(false), "the child ends with its supervisor");
        assertFalse(ProcessHandle.of(supervisorPid).map(ProcessHandle::isAlive).orElse(false));
        assertEquals(List.of(), processes.running());
        assertTrue(processes.supervision("svc").isEmpty(), "the record goes with the process");
    }

    @Test
    void a_failing_child_is_restarted_with_growing_back_off_but_done_and_refused_are_not() throws Exception {
        processes.start("failing", ChildProcesses.exiter(1), state, Map.of(), true);
        Supervisor.Record r = awaitRecord("failing", "restarted twice", x -> x.restarts() >= 2);
        assertEquals(1, r.lastExit());
        String log = log("failing");
        assertTrue(log.contains("restart 1 in 1 s"), log);
        assertTrue(log.contains("restart 2 in 2 s"), log);
        assertTrue(processes.isRunning("failing"), "a supervisor never gives up");

        for (int code : new int[] {0, 2}) {
            String name = "exit" + code;
            processes.start(name, ChildProcesses.exiter(code), state, Map.of(), true);
            Supervisor.Record done = awaitRecord(name, "exited", x -> x.phase() == Supervisor.Phase.EXITED);
            assertEquals(code, done.lastExit());
            assertEquals(0, done.restarts());
            Waits.until("the supervisor of " + name + " ends", WAIT, Waits.quiet(), () -> !processes.isRunning(name));
        }
    }

    @Test
    void the_child_of_a_killed_supervisor_is_stopped_before_a_new_start_so_a_name_never_runs_twice() throws Exception {
        processes.start("svc", ChildProcesses.sleeper(), state, Map.of(), true);
        Supervisor.Record first = awaitRecord("svc", "runs", r -> r.phase() == Supervisor.Phase.RUNNING && r.childPid() > 0);
        ProcessHandle supervisor = ProcessHandle.of(processes.pid("svc").orElseThrow()).orElseThrow();
        supervisor.destroyForcibly();
        Waits.until("the supervisor is gone", WAIT, Waits.quiet(), () -> !supervisor.isAlive());
        ProcessHandle orphan = ProcessHandle.of(first.childPid()).orElseThrow();
        assertTrue(orphan.isAlive(), "SIGKILL of the supervisor leaves its child");
        assertFalse(processes.isRunning("svc"));
        assertEquals(List.of("svc"), processes.running(), "the unwatched child still counts as running, so teardown stops it");

        processes.start("svc", ChildProcesses.sleeper(), state, Map.of(), true);
        assertFalse(orphan.isAlive(), "the unwatched child was stopped before the new start");
        Supervisor.Record again = awaitRecord("svc", "runs", r -> r.phase() == Supervisor.Phase.RUNNING && r.childPid() > 0);
        assertNotEquals(first.childPid(), again.childPid());

        // and stop() alone also finds an unwatched child
        ProcessHandle.of(processes.pid("svc").orElseThrow()).orElseThrow().destroyForcibly();
        ProcessHandle second = ProcessHandle.of(again.childPid()).orElseThrow();
        Waits.until("the supervisor is gone", WAIT, Waits.quiet(), () -> !processes.isRunning("svc"));
        assertEquals(Processes.Stopped.TERMINATED, processes.stop("svc", Duration.ofSeconds(10)).outcome());
        assertFalse(second.isAlive());
    }
}
