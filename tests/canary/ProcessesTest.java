package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import canary.common.Waits;
import canary.platform.Processes;
import canary.platform.Supervisor;

class ProcessesTest {

    private static final Duration STARTUP = Duration.ofSeconds(30);

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
            processes.stop(name, Duration.ofSeconds(1));
        }
    }

    private void awaitLog(String name, String text) {
        Waits.until("the log of " + name + " says '" + text + "'", STARTUP, Waits.quiet(), () -> log(name).contains(text));
    }

    private String log(String name) {
        try {
            Path f = processes.logFile(name);
            return Files.exists(f) ? Files.readString(f) : "";
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void should_start_a_detached_process_with_pid_and_log_files() {
        Path workDir = state.resolve("work");
        workDir.toFile().mkdirs();
        Processes.StartResult r = processes.start("sleeper", ChildProcesses.sleeper("hello"), workDir, Map.of("FOO", "bar"));

        assertTrue(r.started());
        assertTrue(Files.exists(state.resolve("pids/sleeper.pid")));
        assertEquals(state.resolve("logs/sleeper.log"), r.logFile());
        awaitLog("sleeper", "sleeper up hello FOO=bar dir=" + workDir.toAbsolutePath());
        awaitLog("sleeper", "sleeper stderr line");
        assertTrue(processes.isRunning("sleeper"));
        assertEquals(Optional.of(r.pid()), processes.pid("sleeper"));
        assertEquals(List.of("sleeper"), processes.running());
    }

    @Test
    void should_report_a_second_start_as_already_running() {
        Processes.StartResult first = processes.start("sleeper", ChildProcesses.sleeper(), state, Map.of());
        Processes.StartResult second = processes.start("sleeper", ChildProcesses.sleeper(), state, Map.of());

        assertTrue(first.started());
        assertFalse(second.started());
        assertEquals(first.pid(), second.pid());
        assertTrue(second.describe().contains("already runs"), second.describe());
        assertEquals(List.of("sleeper"), processes.running());
    }

    @Test
    void should_stop_with_sigterm_and_remove_the_pid_file() {
        Processes.StartResult r = processes.start("sleeper", ChildProcesses.sleeper(), state, Map.of());
        awaitLog("sleeper", "sleeper up");

        Processes.StopResult stop = processes.stop("sleeper", Duration.ofSeconds(20));

        assertEquals(Processes.Stopped.TERMINATED, stop.outcome());
        assertEquals(r.pid(), stop.pid());
        assertFalse(ProcessHandle.of(r.pid()).map(ProcessHandle::isAlive).orElse(false));
        assertFalse(Files.exists(processes.pidFile("sleeper")));
        assertFalse(processes.isRunning("sleeper"));
        assertEquals(List.of(), processes.running());
    }

    @Test
    void should_say_so_when_stopping_what_is_not_running() {
        Processes.StopResult stop = processes.stop("nothing", Duration.ofSeconds(1));

        assertEquals(Processes.Stopped.NOT_RUNNING, stop.outcome());
        assertEquals("nothing was not running", stop.describe());
    }

    @Test
    void should_kill_a_process_that_ignores_sigterm_after_the_grace_period() {
        Processes.StartResult r = processes.start("stubborn", Processes.javaCommand(ChildProcesses.Stubborn.class.getName()), state, Map.of());
        awaitLog("stubborn", "stubborn ready");

        long t0 = System.nanoTime();
        Processes.StopResult stop = processes.stop("stubborn", Duration.ofSeconds(2));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);

        assertEquals(Processes.Stopped.KILLED, stop.outcome());
        assertTrue(took.compareTo(Duration.ofSeconds(2)) >= 0, "waited the grace period first: " + took);
        assertTrue(log("stubborn").contains("stubborn got SIGTERM"), "SIGTERM came first");
        assertFalse(ProcessHandle.of(r.pid()).map(ProcessHandle::isAlive).orElse(false));
        assertFalse(Files.exists(processes.pidFile("stubborn")));
    }

    @Test
    void should_treat_the_pid_file_of_a_crashed_process_as_stale_and_start_again() {
        Processes.StartResult first = processes.start("sleeper", ChildProcesses.sleeper(), state, Map.of());
        awaitLog("sleeper", "sleeper up");
        assertTrue(Kit.kill9(processes, "sleeper"));
        assertTrue(Files.exists(processes.pidFile("sleeper")), "a crash leaves the pid file behind");

        assertFalse(processes.isRunning("sleeper"));
        assertFalse(Files.exists(processes.pidFile("sleeper")), "the stale pid file is cleaned up");

        Processes.StartResult again = processes.start("sleeper", ChildProcesses.sleeper(), state, Map.of());
        assertTrue(again.started());
        assertNotEquals(first.pid(), again.pid());
        Waits.until("the log has the output of both runs", STARTUP, Waits.quiet(),
                () -> log("sleeper").split("sleeper up", -1).length == 3);
    }

    @Test
    void should_not_take_a_live_unrelated_process_with_the_recorded_pid_for_ours() throws IOException {
        ProcessHandle me = ProcessHandle.current();
        Instant myStart = me.info().startInstant().orElseThrow();
        List<String> argv = ChildProcesses.sleeper();

        // The pid is alive but started at another time: the pid was reused.
        writePidFile("reused", me.pid(), myStart.minusSeconds(3600).toEpochMilli(), argv);
        assertFalse(processes.isRunning("reused"));
        assertFalse(Files.exists(processes.pidFile("reused")));

        // Same pid and start time but another command line: the same process after an exec (./jbang does that).
        writePidFile("after-exec", me.pid(), myStart.toEpochMilli(), argv);
        assertTrue(processes.isRunning("after-exec"));
        Files.delete(processes.pidFile("after-exec"));

        // No start time recorded: the command line decides.
        writePidFile("other-command", me.pid(), -1, argv);
        assertFalse(processes.isRunning("other-command"));

        // Control: this JVM's real identity is recognised.
        writePidFile("me", me.pid(), myStart.toEpochMilli(), me.info().commandLine().isPresent()
                ? concat(me.info().command().orElseThrow(), me.info().arguments().orElseThrow()) : argv);
        assertTrue(processes.isRunning("me"));
        Files.delete(processes.pidFile("me"));
    }

    @Test
    void should_treat_a_dead_pid_and_a_garbled_pid_file_as_not_running() throws Exception {
        Process p = new ProcessBuilder(Processes.javaBinary(), "-version").redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadPid = p.pid();
        long started = p.info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
        Waits.until("java -version exits", STARTUP, Waits.quiet(), () -> !p.isAlive());
        writePidFile("dead", deadPid, started, List.of(Processes.javaBinary(), "-version"));
        Files.writeString(processes.pidFile("garbled"), "not a pid file");

        assertFalse(processes.isRunning("dead"));
        assertFalse(processes.isRunning("garbled"));
        assertEquals(List.of(), processes.running());
        assertEquals(Processes.Stopped.NOT_RUNNING, processes.stop("dead", Duration.ofSeconds(1)).outcome());
    }

    @Test
    void should_keep_a_started_process_running_after_the_starting_jvm_exits() throws Exception {
        Process launcher = new ProcessBuilder(Processes.javaCommand(ChildProcesses.Launcher.class.getName(), state.toString(), "grandchild"))
                .redirectErrorStream(true).start();
        String out = new String(launcher.getInputStream().readAllBytes());
        Waits.until("the launcher exits", STARTUP, Waits.quiet(), () -> !launcher.isAlive());
        assertEquals(0, launcher.exitValue(), out);
        assertTrue(out.contains("grandchild started"), out);

        assertFalse(launcher.isAlive());
        assertTrue(processes.isRunning("grandchild"));
        awaitLog("grandchild", "sleeper up grandchild");
        assertEquals(Processes.Stopped.TERMINATED, processes.stop("grandchild", Duration.ofSeconds(20)).outcome());
    }

    @Test
    void should_build_a_java_command_from_this_jvm() {
        List<String> argv = Processes.javaCommand("canary.Something", "a", "b");

        assertTrue(Files.isExecutable(Path.of(argv.get(0))), argv.get(0));
        assertTrue(argv.contains("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"));
        assertTrue(argv.contains("-Xmx256m"));
        assertEquals(System.getProperty("java.class.path"), argv.get(argv.indexOf("-cp") + 1), "surefire's class path is absolute already");
        assertEquals(List.of("canary.Something", "a", "b"), argv.subList(argv.size() - 3, argv.size()));
    }

    @Test
    void should_make_relative_class_path_entries_absolute() {
        String cwd = Path.of("").toAbsolutePath().toString();
        String cp = Processes.absoluteClassPath("target/classes" + java.io.File.pathSeparator + "/opt/x.jar");

        assertEquals(cwd + "/target/classes" + java.io.File.pathSeparator + "/opt/x.jar", cp);
    }

    @Test
    void should_refuse_a_name_that_is_not_a_file_name() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> processes.isRunning("../x"));
    }

    private void writePidFile(String name, long pid, long startMillis, List<String> argv) throws IOException {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("pid", pid);
        n.put("startMillis", startMillis);
        n.putPOJO("argv", argv);
        Files.createDirectories(processes.pidFile(name).getParent());
        Files.writeString(processes.pidFile(name), new ObjectMapper().writeValueAsString(n));
    }

    private static List<String> concat(String first, String[] rest) {
        List<String> l = new java.util.ArrayList<>();
        l.add(first);
        l.addAll(List.of(rest));
        return l;
    }
    @Test
    void should_keep_track_of_a_launcher_that_execs_its_program_and_stop_it() throws Exception {
        processes.start("execs", List.of("bash", "-c", "exec sleep 300"), state, Map.of());
        long pid = processes.pid("execs").orElseThrow();
        Waits.until("bash has exec'd sleep", STARTUP, Waits.quiet(), () -> ProcessHandle.of(pid)
                .flatMap(h -> h.info().command()).map(c -> c.endsWith("sleep")).orElse(false));
        assertTrue(processes.isRunning("execs"), "still ours after exec");
        assertEquals(List.of("execs"), processes.running());
        processes.stop("execs", Duration.ofSeconds(5));
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the exec'd program is stopped");
    }

    // ------------------------------------------------------------------ supervised: real child JVMs, killed with SIGKILL

    private static final Duration WAIT = Duration.ofSeconds(60);

    private Supervisor.Record awaitRecord(String name, String what, java.util.function.Predicate<Supervisor.Record> p) {
        Waits.until(name + ": " + what, WAIT, Waits.quiet(), () -> processes.supervision(name).filter(p).isPresent());
        return processes.supervision(name).orElseThrow();
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
