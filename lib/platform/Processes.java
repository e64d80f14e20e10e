package canary.platform;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import canary.common.AtomicFile;
import canary.common.Durations;
import canary.common.UserException;
import canary.common.Waits;

/**
 * Detached background processes of the kit (local broker, router, demo producer, dummy services),
 * each known by a name, with a pid file and a log file under a state folder:
 * {@code <state>/pids/<name>.pid} and {@code <state>/logs/<name>.log}.
 *
 * <p>A pid file records the pid, the process start time and the command, so a pid that was reused
 * by an unrelated process after ours died is recognised as stale. Started processes do not depend on
 * the JVM that started them: output goes to the log file, input comes from {@code /dev/null}, and
 * where {@code setsid} exists they run in their own session (a Ctrl-C in the operator's terminal or
 * a closed terminal does not reach them).
 */
public final class Processes {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);
    private static final String[] SETSID = {"/usr/bin/setsid", "/bin/setsid"};

    private final Path stateDir;

    public Processes(Path stateDir) {
        this.stateDir = stateDir;
    }

    /** What {@link #start} did. */
    public record StartResult(String name, long pid, boolean started, Path logFile) {
        public String describe() {
            return name + (started ? " started" : " already runs") + " (pid " + pid + ", log " + logFile + ")";
        }
    }

    /** How {@link #stop} ended. */
    public enum Stopped {
        /** Nothing ran under that name (a stale pid file, if any, was removed). */
        NOT_RUNNING,
        /** The process exited within the grace period after SIGTERM. */
        TERMINATED,
        /** The process ignored SIGTERM for the grace period and was killed with SIGKILL. */
        KILLED
    }

    /** What {@link #stop} did. */
    public record StopResult(String name, long pid, Stopped outcome) {
        public String describe() {
            return switch (outcome) {
                case NOT_RUNNING -> name + " was not running";
                case TERMINATED -> name + " stopped (pid " + pid + ")";
                case KILLED -> name + " did not stop in time and was killed (pid " + pid + ")";
            };
        }
    }

    /** The content of a pid file. {@code startMillis} is -1 when the OS does not tell start times. */
    record PidFile(long pid, long startMillis, List<String> argv) {
    }

    // ------------------------------------------------------------------ start / stop

    /**
     * Starts {@code argv} detached under {@code name}, unless a live process recorded under that name
     * still runs: then it is left alone and reported as already running.
     */
    public StartResult start(String name, List<String> argv, Path workDir, Map<String, String> extraEnv) {
        return start(name, argv, workDir, extraEnv, false);
    }

    /**
     * Starts {@code argv} detached under {@code name}, kept alive by a {@link Supervisor} when {@code supervised}: restarted
     * with back-off when it fails, its restarts recorded (see {@link #supervision}). A child left running by a supervisor that
     * was killed is stopped first, so that one name never runs twice.
     */
    public StartResult start(String name, List<String> argv, Path workDir, Map<String, String> extraEnv, boolean supervised) {
        checkName(name);
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("empty command for " + name);
        }
        Optional<ProcessHandle> live = live(name);
        if (live.isPresent()) {
            return new StartResult(name, live.get().pid(), false, logFile(name));
        }
        stopOrphan(name, KILL_WAIT);
        deleteSupervision(name);
        Path log = logFile(name);
        if (supervised) {
            // The supervisor idles: interpreted, a small heap, about 50 MB resident.
            List<String> keeper = new ArrayList<>(List.of(javaBinary(), "-Xmx16m", "-XX:+UseSerialGC", "-Xint", "-Xss256k",
                    "-cp", absoluteClassPath(System.getProperty("java.class.path")), Supervisor.class.getName(),
                    stateDir.toAbsolutePath().toString(), name));
            keeper.addAll(argv);
            argv = keeper;
        }
        try {
            StateDir.ensure(stateDir);
            Files.createDirectories(log.getParent());
            Files.createDirectories(pidFile(name).getParent());
            ProcessBuilder pb = new ProcessBuilder(detached(argv))
                    .directory(workDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(nullInput());
            pb.environment().putAll(extraEnv);
            Process p;
            try {
                p = pb.start();
            } catch (IOException e) {
                throw new UserException(UserException.ENVIRONMENT, "cannot start " + name + " (" + argv.get(0) + "): " + e.getMessage(), e);
            }
            long start = p.info().startInstant().map(Instant::toEpochMilli).orElse(-1L);
            writePidFile(name, new PidFile(p.pid(), start, List.copyOf(argv)));
            return new StartResult(name, p.pid(), true, log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the state folder " + stateDir + " for " + name, e);
        }
    }

    /** Stops {@code name}: SIGTERM, up to {@code grace} to exit, then SIGKILL. Not running is fine. */
    public StopResult stop(String name, Duration grace) {
        return stop(name, grace, Waits.quiet());
    }

    public StopResult stop(String name, Duration grace, Waits.Progress progress) {
        checkName(name);
        Optional<ProcessHandle> live = live(name);
        if (live.isEmpty()) {
            Optional<Long> orphan = liveChild(name).map(ProcessHandle::pid);
            boolean stopped = stopOrphan(name, grace);
            deleteSupervision(name);
            return stopped ? new StopResult(name, orphan.orElse(-1L), Stopped.TERMINATED) : new StopResult(name, -1, Stopped.NOT_RUNNING);
        }
        ProcessHandle h = live.get();
        Stopped outcome = terminate(name, h, grace, progress);
        // A supervisor killed before its child ended leaves the child running.
        stopOrphan(name, KILL_WAIT);
        deleteSupervision(name);
        deletePidFile(name);
        return new StopResult(name, h.pid(), outcome);
    }

    // ------------------------------------------------------------------ queries

    /** Whether a live process recorded under {@code name} runs. A stale pid file is removed. */
    public boolean isRunning(String name) {
        checkName(name);
        return live(name).isPresent();
    }

    /** The pid of the live process recorded under {@code name}. */
    public Optional<Long> pid(String name) {
        checkName(name);
        return live(name).map(ProcessHandle::pid);
    }

    /**
     * Names with a live process (or a supervised child whose supervisor is gone), sorted. Stale pid files met on the way
     * are removed.
     */
    public List<String> running() {
        java.util.TreeSet<String> names = new java.util.TreeSet<>();
        for (String name : namesIn(stateDir.resolve("pids"), ".pid")) {
            if (live(name).isPresent()) {
                names.add(name);
            }
        }
        for (String name : namesIn(stateDir.resolve("supervision"), ".json")) {
            if (liveChild(name).isPresent()) {
                names.add(name);
            }
        }
        return new ArrayList<>(names);
    }

    private static List<String> namesIn(Path dir, String suffix) {
        List<String> names = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return names;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*" + suffix)) {
            for (Path f : files) {
                String file = f.getFileName().toString();
                String name = file.substring(0, file.length() - suffix.length());
                if (name.matches("[A-Za-z0-9._-]+")) {
                    names.add(name);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        return names;
    }

    public Path logFile(String name) {
        return stateDir.resolve("logs").resolve(name + ".log");
    }

    public Path pidFile(String name) {
        return stateDir.resolve("pids").resolve(name + ".pid");
    }

    public Path stateDir() {
        return stateDir;
    }

    // ------------------------------------------------------------------ the kit's own JVMs

    /**
     * The command that runs one of the kit's classes in a new JVM: this JVM's java binary, this JVM's
     * class path (under JBang the script's jar and its dependencies; under Surefire the real class
     * path since it runs with {@code useManifestOnlyJar=false}), quiet library logs, a modest heap.
     */
    public static List<String> javaCommand(String mainClass, String... args) {
        return javaCommand(true, mainClass, args);
    }

    /** {@link #javaCommand} without class data sharing: a JVM as anyone would start it (the benchmark's other contenders). */
    public static List<String> javaCommandWithoutSharing(String mainClass, String... args) {
        return javaCommand(false, mainClass, args);
    }

    private static List<String> javaCommand(boolean sharing, String mainClass, String... args) {
        String classPath = absoluteClassPath(System.getProperty("java.class.path"));
        List<String> argv = new ArrayList<>();
        argv.add(javaBinary());
        // A small heap needs no concurrent collector: the serial one keeps the resident size near what is live (the default
        // collector on a 2-core, many-GiB machine commits the whole heap early, so that the router peaked above 256 MB).
        argv.addAll(SharedClasses.HEAP_OPTIONS);
        argv.add("-Xms32m");
        if (sharing) {
            // Under JBang: the classes of the kit's JVMs come from an archive once the main class has run once (SharedClasses).
            argv.addAll(SharedClasses.options(classPath, mainClass));
        }
        argv.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
        // Last, so that they win over the kit's own (a later -Xmx replaces an earlier one).
        argv.addAll(extraJavaOptions(System.getenv(JAVA_OPTIONS_ENV)));
        argv.add("-cp");
        argv.add(classPath);
        argv.add(mainClass);
        argv.addAll(List.of(args));
        return argv;
    }

    /**
     * The environment variable whose value, split at white space, is added to the options of every JVM the kit starts
     * (router instances, local brokers, the demo producer, Java versions started with the kit's own command), after the
     * kit's own: {@code CANARY_JAVA_OPTIONS="-Xmx512m -Djavax.net.ssl.trustStore=/etc/kafka/truststore.jks"}.
     */
    public static final String JAVA_OPTIONS_ENV = "CANARY_JAVA_OPTIONS";

    static List<String> extraJavaOptions(String value) {
        return value == null || value.isBlank() ? List.of() : List.of(value.strip().split("\\s+"));
    }

    /**
     * The class path with every entry made absolute: a child may run in another folder, where the
     * relative entries of {@code java -cp target/classes:...} would name nothing.
     */
    public static String absoluteClassPath(String classPath) {
        List<String> out = new ArrayList<>();
        for (String entry : classPath.split(File.pathSeparator)) {
            if (!entry.isEmpty()) {
                out.add(Path.of(entry).toAbsolutePath().normalize().toString());
            }
        }
        return String.join(File.pathSeparator, out);
    }

    public static String javaBinary() {
        return ProcessHandle.current().info().command()
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    // ------------------------------------------------------------------ pid files

    /** The live process recorded under {@code name}; a stale pid file is removed. */
    private Optional<ProcessHandle> live(String name) {
        Optional<PidFile> recorded = readPidFile(name);
        if (recorded.isEmpty()) {
            return Optional.empty();
        }
        Optional<ProcessHandle> h = ProcessHandle.of(recorded.get().pid()).filter(ProcessHandle::isAlive)
                .filter(p -> sameProcess(recorded.get(), p.info()));
        if (h.isEmpty()) {
            deletePidFile(name);
        }
        return h;
    }

    // ------------------------------------------------------------------ supervision

    /** What the supervisor of {@code name} last recorded, when it was started supervised (see {@link Supervisor}). */
    public Optional<Supervisor.Record> supervision(String name) {
        checkName(name);
        return Supervisor.read(stateDir, name);
    }

    /** What every supervisor under this state folder last recorded, by name. */
    public List<Supervisor.Record> supervisedAll() {
        List<Supervisor.Record> out = new ArrayList<>();
        List<String> names = namesIn(stateDir.resolve("supervision"), ".json");
        names.sort(null);
        for (String name : names) {
            Supervisor.read(stateDir, name).map(r -> {
                boolean watched = r.phase() == Supervisor.Phase.RUNNING || r.phase() == Supervisor.Phase.BACKOFF;
                if (!watched || live(name).isPresent()) {
                    return r;
                }
                return liveChild(name).isPresent() ? r.withPhase(Supervisor.Phase.UNSUPERVISED) : r.withPhase(Supervisor.Phase.GONE);
            }).ifPresent(out::add);
        }
        return out;
    }

    /** The child a supervisor recorded, if it still runs (also after its supervisor was killed). */
    private Optional<ProcessHandle> liveChild(String name) {
        return Supervisor.read(stateDir, name)
                .filter(r -> r.childPid() > 0)
                .flatMap(r -> ProcessHandle.of(r.childPid()).filter(ProcessHandle::isAlive)
                        .filter(h -> r.childStarted() < 0 || h.info().startInstant().map(i -> i.toEpochMilli() == r.childStarted()).orElse(true)));
    }

    /** A supervised child whose supervisor is gone runs unwatched: stop it (SIGTERM, then SIGKILL). */
    private boolean stopOrphan(String name, Duration grace) {
        Optional<ProcessHandle> child = liveChild(name);
        if (child.isEmpty()) {
            return false;
        }
        terminate(name, child.get(), grace, Waits.quiet());
        return true;
    }

    /** SIGTERM, up to {@code grace} to exit, then SIGKILL. */
    private static Stopped terminate(String name, ProcessHandle h, Duration grace, Waits.Progress progress) {
        h.destroy();
        try {
            Waits.until(name + " (pid " + h.pid() + ") exits after SIGTERM", grace, progress, () -> !h.isAlive());
            return Stopped.TERMINATED;
        } catch (Waits.WaitTimeoutException e) {
            progress.accept("  " + name + " (pid " + h.pid() + ") still runs after " + Durations.format(grace) + ": sending SIGKILL");
            h.destroyForcibly();
            Waits.until(name + " (pid " + h.pid() + ") exits after SIGKILL", KILL_WAIT, progress, () -> !h.isAlive());
            return Stopped.KILLED;
        }
    }

    private void deleteSupervision(String name) {
        try {
            Files.deleteIfExists(Supervisor.recordFile(stateDir, name));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + Supervisor.recordFile(stateDir, name), e);
        }
    }

    /**
     * Whether the live process {@code info} describes is the one recorded, not a later process that
     * got the same pid: same start time, and arguments that end with the recorded ones (a process
     * still in {@code setsid} shows the same arguments after an extra one). A fact the OS does not
     * tell is not held against the process.
     */
    static boolean sameProcess(PidFile recorded, ProcessHandle.Info info) {
        Optional<Instant> started = info.startInstant();
        if (recorded.startMillis() >= 0 && started.isPresent()) {
            // A pid and its start time name one process, and they survive exec: a launcher such as ./jbang or a
            // wrapper script that execs its program keeps being ours although its command line changed.
            return started.get().toEpochMilli() == recorded.startMillis();
        }
        Optional<String[]> args = info.arguments();
        if (args.isPresent() && recorded.argv().size() > 1) {
            List<String> expected = recorded.argv().subList(1, recorded.argv().size());
            List<String> actual = List.of(args.get());
            if (actual.size() < expected.size() || !actual.subList(actual.size() - expected.size(), actual.size()).equals(expected)) {
                return false;
            }
        }
        return true;
    }

    private Optional<PidFile> readPidFile(String name) {
        Path f = pidFile(name);
        String text;
        try {
            text = Files.readString(f);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the pid file " + f, e);
        }
        try {
            PidFile p = JSON.readValue(text, PidFile.class);
            if (p.pid() <= 0 || p.argv() == null) {
                throw new IllegalArgumentException("no pid or command");
            }
            return Optional.of(p);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            // A pid file we cannot read names nothing we can check: treat it as stale.
            deletePidFile(name);
            return Optional.empty();
        }
    }

    private void writePidFile(String name, PidFile content) throws IOException {
        AtomicFile.write(pidFile(name), JSON.writeValueAsString(content) + "\n");
    }

    private void deletePidFile(String name) {
        try {
            Files.deleteIfExists(pidFile(name));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the pid file " + pidFile(name), e);
        }
    }

    private static void checkName(String name) {
        if (!name.matches("[A-Za-z0-9._-]+")) {
            throw new IllegalArgumentException("a process name uses letters, digits, '.', '_' and '-' only: " + name);
        }
    }

    /** {@code argv} in its own session where {@code setsid} exists. */
    static List<String> detached(List<String> argv) {
        List<String> command = new ArrayList<>();
        setsid().ifPresent(command::add);
        command.addAll(argv);
        return command;
    }

    private static Optional<String> setsid() {
        for (String s : SETSID) {
            if (Files.isExecutable(Path.of(s))) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    static ProcessBuilder.Redirect nullInput() {
        File devNull = new File("/dev/null");
        return devNull.exists() ? ProcessBuilder.Redirect.from(devNull) : ProcessBuilder.Redirect.from(new File("NUL"));
    }
}
