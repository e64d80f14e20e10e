package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

import picocli.CommandLine;

import canary.cli.CheckDataCommand;
import canary.cli.Cli;
import canary.cli.MigrationCommand;
import canary.cli.PromoteCommand;
import canary.cli.RollbackCommand;
import canary.cli.UpdateRateCommand;
import canary.common.Steps;
import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.context.Role;
import canary.demo.DummyService;
import canary.kafka.KafkaCluster;
import canary.kafka.KafkaStateStore;
import canary.platform.ProcessVersions;
import canary.platform.Processes;
import canary.release.Lag;
import canary.release.MigrationState;
import canary.release.Operator;

/**
 * A test's own migration setup on the shared test broker: a context file with unique topic, group and
 * context names, whose versions are the dummy service run as child JVMs; runs the scripts' commands as
 * users do and reads what the dummy services processed.
 */
final class Kit implements AutoCloseable {

    final Path dir;
    final Path contextFile;
    final String topic;
    final String legacyGroup;
    final String newGroup;
    final int partitions;

    /** The release number: 1 for the first context of a topic, 2 for the next release after it, ... */
    final int release;

    /** How the test reaches the cluster of this release: the test broker, or the local platform's broker. */
    final java.util.Properties client;

    /** The groups whose version is kcat: what they processed is in their process log, not in a dummy service's file. */
    private final java.util.Set<String> kcatGroups = new java.util.HashSet<>();

    Kit(Path dir, int partitions, String extraYaml) {
        this(dir, partitions, extraYaml, null);
    }

    /**
     * @param legacyPause how long the legacy version pauses after each batch it processed (a busy service with a backlog when
     *                    records change version), or null for none
     */
    Kit(Path dir, int partitions, String extraYaml, String legacyPause) {
        this(dir, partitions, TestBroker.unique("orders"), 1, extraYaml, legacyPause == null ? null
                : javaCommandYaml("canary.demo.DummyService", "{context}", "{service}", "{topic}", legacyPause), null);
        createTopic();
    }

    /**
     * A release whose versions run these commands (YAML lists, for example {@link #kcatYaml}; null: the dummy service). A
     * version whose command starts with {@code kcat} is read back from its process log ({@link #processed}).
     */
    static Kit withRuns(Path dir, int partitions, String extraYaml, String legacyRun, String newRun) {
        Kit kit = new Kit(dir, partitions, TestBroker.unique("orders"), 1, extraYaml, legacyRun, newRun);
        kit.createTopic();
        return kit;
    }

    /**
     * A release on the local platform (platform local: setup.java starts a KRaft broker on these loopback ports as a process
     * under the state folder, creates the topic and starts legacy; no demo producer), instead of on the test broker.
     */
    static Kit onLocalPlatform(Path dir, int partitions, int port, int controllerPort) {
        String yaml = "platform: local\nlocal:\n  port: " + port + "\n  controller_port: " + controllerPort + "\n  producer: false\n";
        return new Kit(dir, partitions, TestBroker.unique("orders"), 1, "", null, null, "127.0.0.1:" + port, yaml);
    }

    /** A release on a cluster the test started (platform existing), for example a {@code TestCluster} of three brokers. */
    static Kit onCluster(Path dir, int partitions, String bootstrapServers) {
        Kit kit = new Kit(dir, partitions, TestBroker.unique("orders"), 1, "", null, null, bootstrapServers, "platform: existing\n");
        kit.createTopic();
        return kit;
    }

    private void createTopic() {
        try (KafkaCluster c = cluster()) {
            c.createTopic(topic, partitions, Map.of());
        }
    }

    /** Release {@code release} of {@code topic}: context {@code <topic>} (then {@code <topic>-2}, ...), versions v{release} → v{release + 1}. */
    private Kit(Path dir, int partitions, String topic, int release, String extraYaml, String legacyRun, String newRun) {
        this(dir, partitions, topic, release, extraYaml, legacyRun, newRun, TestBroker.bootstrapServers(), "platform: existing\n");
    }

    private Kit(Path dir, int partitions, String topic, int release, String extraYaml, String legacyRun, String newRun, String bootstrap,
            String platformYaml) {
        this(dir, partitions, topic, release, extraYaml, legacyRun, newRun, platformYaml, "kafka:\n  bootstrap_servers: " + bootstrap + "\n",
                "", "", bootstrapOnly(bootstrap));
    }

    /**
     * A setup on a cluster of its own ({@link TestCluster}): the context's {@code kafka} section, extra keys of the versions (such
     * as {@code kafka_properties}), and the client properties of the test's own reads. The topic {@code topic} must exist.
     */
    Kit(Path dir, int partitions, String topic, String kafkaYaml, String legacyYaml, String newYaml, java.util.Properties client) {
        this(dir, partitions, topic, 1, "", null, null, "platform: existing\n", kafkaYaml, legacyYaml, newYaml, client);
    }

    private static java.util.Properties bootstrapOnly(String bootstrap) {
        java.util.Properties p = new java.util.Properties();
        p.put("bootstrap.servers", bootstrap);
        return p;
    }

    private Kit(Path dir, int partitions, String topic, int release, String extraYaml, String legacyRun, String newRun, String platformYaml,
            String kafkaYaml, String legacyYaml, String newYaml, java.util.Properties client) {
        this.dir = dir;
        this.client = client;
        this.partitions = partitions;
        this.topic = topic;
        this.release = release;
        this.legacyGroup = topic + "-v" + release;
        this.newGroup = topic + "-v" + (release + 1);
        this.contextFile = dir.resolve(release == 1 ? "context.yaml" : "context-" + release + ".yaml");
        String service = newRun != null ? newRun : javaCommandYaml("canary.demo.DummyService", "{context}", "{service}", "{topic}");
        String legacyService = legacyRun != null ? legacyRun : javaCommandYaml("canary.demo.DummyService", "{context}", "{service}", "{topic}");
        if (service.startsWith("[\"kcat\"")) {
            kcatGroups.add(newGroup);
        }
        if (legacyService.startsWith("[\"kcat\"")) {
            kcatGroups.add(legacyGroup);
        }
        String yaml = "name: " + topic + (release == 1 ? "" : "-" + release) + "\n"
                + "topic: " + topic + "\n"
                + "partitions: " + partitions + "\n"
                + platformYaml
                + (extraYaml.contains("state_dir:") ? "" : "state_dir: state\n")
                + kafkaYaml
                + "legacy:\n  group: " + legacyGroup + "\n  run: " + legacyService + "\n" + legacyYaml
                + "new:\n  group: " + newGroup + "\n  run: " + service + "\n" + newYaml
                + extraYaml;
        try {
            Files.writeString(contextFile, yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The next release of the same topic, as the README's "Releasing again" describes it: a context file of its own beside this
     * one (another name, the same topic and state_dir) whose legacy is this release's new version (its group and run command)
     * and whose new version is a further group.
     */
    Kit next() {
        return new Kit(dir, partitions, topic, release + 1, "", null, null);
    }

    static String javaCommandYaml(String mainClass, String... args) {
        return yamlList(Processes.javaCommand(mainClass, args));
    }

    static String yamlList(List<String> args) {
        return args.stream()
                .map(a -> "\"" + a.replace("\\", "\\\\").replace("\"", "\\\"") + "\"")
                .collect(Collectors.joining(", ", "[", "]"));
    }

    /** What kcat prints for each record it consumed: a marker, then topic, partition, offset and key (the producers' id). */
    static final String KCAT_FORMAT = "processed\\t%t\\t%p\\t%o\\t%k\\n";

    /**
     * A version run by kcat (librdkafka's high-level balanced consumer, {@code -G}) on the test broker, as the README shows it:
     * quiet, unbuffered, one line per record in its log; no {@code -o} (it would override the committed offsets the kit hands
     * over); {@code auto.offset.reset=earliest} only for a group without offsets. {@code extra}: more kcat arguments.
     */
    static String kcatYaml(String... extra) {
        List<String> argv = new ArrayList<>(List.of("kcat", "-q", "-u", "-b", TestBroker.bootstrapServers(), "-G", "{service}",
                "-X", "auto.offset.reset=earliest", "-X", "auto.commit.interval.ms=1000", "-f", KCAT_FORMAT));
        argv.addAll(List.of(extra));
        argv.add("{topic}");
        return yamlList(argv);
    }

    Context ctx() {
        return Context.load(contextFile);
    }

    KafkaCluster cluster() {
        return KafkaCluster.connect(client);
    }

    Processes processes() {
        return new Processes(ctx().stateDir());
    }

    MigrationState state() {
        try (KafkaStateStore s = KafkaStateStore.of(ctx(), client, new Operator("test", "test-host", "test"),
                java.time.Clock.systemUTC())) {
            return s.read().orElse(null);
        }
    }

    /** Starts the legacy version on the original topic, as setup does on the local platform. */
    void startLegacy() {
        Context ctx = ctx();
        try (KafkaCluster c = cluster()) {
            new ProcessVersions(ctx, c, processes(), Waits.quiet()).start(Role.LEGACY, topic, Duration.ofSeconds(30));
        }
    }

    /** Produces {@code records}, starts legacy on the original topic and waits until it processed them all. */
    void legacyHasProcessed(TestProducer producer, int records) {
        producer.produce(records);
        startLegacy();
        awaitDrained(legacyGroup, topic, Duration.ofSeconds(60));
    }

    /**
     * A release under way: legacy has processed {@code before} records, the producer goes on at {@code rate} records/s, the
     * migration routes at {@code share} and has routed {@code before} records more.
     */
    void routing(TestProducer producer, int before, int rate, String share) {
        legacyHasProcessed(producer, before);
        producer.startBackground(rate);
        migration(share).ok();
        awaitRouted(before);
    }

    /** The outcome of one command run as a user runs it. */
    record Run(int exitCode, String out, String err) {
        Run expect(int code) {
            if (exitCode != code) {
                fail("expected exit code " + code + ", got " + exitCode + "\n--- out:\n" + out + "\n--- err:\n" + err);
            }
            return this;
        }

        Run ok() {
            return expect(0);
        }
    }

    static Run run(Object command, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = Cli.commandLine(command);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    Run run(Object command, List<String> args) {
        List<String> all = new ArrayList<>();
        all.add(contextFile.toString());
        all.addAll(args);
        return run(command, all.toArray(String[]::new));
    }

    Run migration(String... args) {
        return run(new MigrationCommand(), List.of(withTimeout(args)));
    }

    Run updateRate(String... args) {
        return run(new UpdateRateCommand(), List.of(withTimeout(args)));
    }

    Run status(String... args) {
        return run(new canary.cli.StatusCommand(), List.of(args));
    }

    Run checkData(String... args) {
        return run(new CheckDataCommand(), List.of(withTimeout(args)));
    }

    /**
     * Kills {@code name} with SIGKILL at once, leaving its pid file behind as a crash would.
     *
     * @return whether it was running
     */
    /** The name under which the kit runs a version's process. */
    String versionProcess(Role role) {
        return ProcessVersions.processName(topic, role == Role.LEGACY ? legacyGroup : newGroup);
    }

    /** The name under which the kit runs router instance {@code n} of this context. */
    String routerProcess(int n) {
        return canary.platform.ProcessNames.router(ctx(), n);
    }

    static boolean kill9(Processes processes, String name) {
        Optional<Long> child = processes.supervision(name).map(canary.platform.Supervisor.Record::childPid).filter(p -> p > 0);
        Optional<Long> pid = processes.pid(name);
        pid.ifPresent(Kit::kill9);
        child.ifPresent(Kit::kill9);
        return pid.isPresent();
    }

    /** SIGKILLs the child of the supervised process {@code name} (the service or router itself), not its supervisor; returns its pid. */
    static long kill9Child(Processes processes, String name) {
        canary.platform.Supervisor.Record r = processes.supervision(name)
                .filter(x -> x.phase() == canary.platform.Supervisor.Phase.RUNNING && x.childPid() > 0)
                .orElseThrow(() -> new AssertionError(name + " runs no supervised child: " + processes.supervision(name)));
        kill9(r.childPid());
        return r.childPid();
    }

    /** Waits until the supervisor of {@code name} has started its child again after {@code restarts} restarts. */
    static canary.platform.Supervisor.Record awaitRestarted(Processes processes, String name, int restarts) {
        Waits.until(name + " is started again (restart " + restarts + ")", Duration.ofSeconds(60), Waits.quiet(),
                () -> processes.supervision(name).filter(r -> r.restarts() >= restarts && r.phase() == canary.platform.Supervisor.Phase.RUNNING)
                        .isPresent());
        return processes.supervision(name).orElseThrow();
    }

    private static void kill9(long pid) {
        ProcessHandle.of(pid).ifPresent(h -> {
            h.destroyForcibly();
            Waits.until("pid " + h.pid() + " exits after SIGKILL", Duration.ofSeconds(10), Waits.quiet(), () -> !h.isAlive());
        });
    }

    /** Runs a command of the kit in a child JVM that stops at the named {@code step}, and SIGKILLs it there. */
    void killAt(String commandClass, String step, String... args) throws Exception {
        killAt(commandClass, step, () -> { }, args);
    }

    /** Like {@link #killAt(String, String, String...)}, doing {@code atStep} (a fault of the cluster) while the command waits there. */
    void killAt(String commandClass, String step, Runnable atStep, String... args) throws Exception {
        Processes p = processes();
        Path reached = dir.resolve("reached-" + step + "-" + System.nanoTime());
        List<String> argv = new ArrayList<>(List.of(contextFile.toString()));
        argv.addAll(List.of(args));
        argv.addAll(List.of("--timeout", "90s"));
        p.start("killed-step", Processes.javaCommand(commandClass, argv.toArray(String[]::new)), dir,
                Map.of(Steps.PAUSE_AT, step, Steps.PAUSE_FILE, reached.toString()));
        Waits.until("the command reaches step " + step + " (log " + p.logFile("killed-step") + ")", Duration.ofSeconds(120), Waits.quiet(),
                () -> Files.exists(reached) || !p.isRunning("killed-step"));
        assertTrue(Files.exists(reached), "the command ended before step " + step + ": " + Files.readString(p.logFile("killed-step")));
        atStep.run();
        assertTrue(kill9(p, "killed-step"), "killed at " + step);
    }

    Run promote(String... args) {
        return run(new PromoteCommand(), List.of(withTimeout(args)));
    }

    Run rollback(String... args) {
        return run(new RollbackCommand(), List.of(withTimeout(args)));
    }

    private static String[] withTimeout(String... args) {
        List<String> a = new ArrayList<>(List.of(args));
        if (!a.contains("--timeout")) {
            a.add("--timeout");
            a.add("90s");
        }
        return a.toArray(String[]::new);
    }

    /** What a version processed: one entry per processed record (kcat: per line it printed into its log). */
    List<DummyService.Processed> processed(String group) {
        if (kcatGroups.contains(group)) {
            return kcatProcessed(processes().logFile(ProcessVersions.processName(topic, group)));
        }
        Path f = ctx().stateDir().resolve("processed").resolve(group + ".tsv");
        return Files.exists(f) ? DummyService.readProcessed(f) : List.of();
    }

    /**
     * The records kcat printed with {@link #KCAT_FORMAT} into its process log (beside the supervisor's lines). A line that
     * starts with the marker but is not whole fails: a record cut by another writer must not go unnoticed.
     */
    static List<DummyService.Processed> kcatProcessed(Path log) {
        if (!Files.exists(log)) {
            return List.of();
        }
        List<DummyService.Processed> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(log)) {
                if (!line.startsWith("processed\t")) {
                    continue;
                }
                String[] f = line.split("\t", -1);
                assertEquals(5, f.length, log + ": not a whole record line: " + line);
                out.add(new DummyService.Processed(f[1], Integer.parseInt(f[2]), Long.parseLong(f[3]), f[4]));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Asserts that every id was processed exactly once by exactly one of the two versions. */
    void assertExactlyOnce(Collection<String> produced) {
        assertExactlyOnce(produced, List.of(legacyGroup, newGroup), null, null);
    }

    /** Asserts that every id was processed exactly once by exactly one of the versions with these groups. */
    void assertExactlyOnce(Collection<String> produced, List<String> groups) {
        assertExactlyOnce(produced, groups, null, null);
    }

    /**
     * Like {@link #assertExactlyOnce(Collection)}, but the version of {@code killedGroup} was SIGKILLed while it consumed
     * {@code killedTopic}: the dummy service processes at least once (it commits after writing), so after its restart it may
     * process again the records of its last uncommitted batch there. Those count once: the same offset of the same topic,
     * delivered again to the same version, is the service's redelivery, not the kit's doubling. Anywhere else a second
     * processing still fails the test.
     */
    void assertExactlyOnce(Collection<String> produced, String killedGroup, String killedTopic) {
        assertExactlyOnce(produced, List.of(legacyGroup, newGroup), killedGroup, killedTopic);
    }

    /**
     * Like {@link #assertExactlyOnce(Collection, String, String)} for a fault under every version at once (the whole cluster
     * restarted, or a broker of it killed): any version may process again its last uncommitted batch, on any topic. The same
     * offset of the same topic delivered again to the same version counts once; an id processed at two offsets, or by two
     * versions, still fails the test.
     */
    void assertExactlyOnceAllowingRedelivery(Collection<String> produced) {
        assertExactlyOnce(produced, List.of(legacyGroup, newGroup), ANY, ANY);
    }

    private static final String ANY = "\0any";

    private void assertExactlyOnce(Collection<String> produced, List<String> groups, String killedGroup, String killedTopic) {
        Map<String, Integer> seen = new HashMap<>();
        for (String g : groups) {
            java.util.Set<String> redelivered = new java.util.HashSet<>();
            for (DummyService.Processed p : processed(g)) {
                boolean mayRedeliver = (ANY.equals(killedGroup) || g.equals(killedGroup)) && (ANY.equals(killedTopic) || p.topic().equals(killedTopic));
                if (mayRedeliver && !redelivered.add(p.topic() + "/" + p.partition() + "@" + p.offset())) {
                    continue;
                }
                seen.merge(p.id(), 1, Integer::sum);
            }
        }
        List<String> lost = produced.stream().filter(id -> !seen.containsKey(id)).toList();
        List<String> twice = seen.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        assertEquals(List.of(), lost.subList(0, Math.min(20, lost.size())), lost.size() + " records lost");
        assertEquals(List.of(), twice.subList(0, Math.min(20, twice.size())), twice.size() + " records processed twice");
        assertEquals(produced.size(), seen.size(), "processed ids that were never produced");
    }

    /**
     * The end of a release as most lifecycle tests end it: promote, stop the producer, wait until the new version has
     * processed the original topic, and assert that every produced id was processed exactly once by exactly one version.
     */
    List<String> promoteAndAssertExactlyOnce(TestProducer producer) throws InterruptedException {
        promote().ok();
        List<String> produced = producer.stop();
        awaitDrained(newGroup, topic, Duration.ofSeconds(60));
        assertExactlyOnce(produced);
        return produced;
    }

    /** Waits until the router has routed at least {@code records} more records than the legacy group had processed. */
    void awaitRouted(long records) {
        try (KafkaCluster c = cluster()) {
            String router = ctx().routerGroup();
            long[] start = {-1};
            // A read that gets no answer (a killed broker's group coordinator moving to another broker) is asked again.
            Waits.until("the router routed " + records + " records", Duration.ofSeconds(120), Waits.quiet(), () -> {
                try {
                    if (start[0] < 0) {
                        start[0] = Lag.total(c.committedOffsets(legacyGroup, topic));
                    }
                    return Lag.total(c.committedOffsets(router, topic)) >= start[0] + records;
                } catch (UserException e) {
                    return false;
                }
            });
        }
    }

    /** Waits until a group has processed every record of a topic. */
    void awaitDrained(String group, String topic, Duration timeout) {
        try (KafkaCluster c = cluster()) {
            Waits.untilNothingLeft(group + " processed all of " + topic, timeout, Waits.quiet(),
                    () -> Lag.remaining(group, c.unprocessed(group, topic, timeout)));
        }
    }

    @Override
    public void close() {
        Processes p = processes();
        for (String name : p.running()) {
            p.stop(name, Duration.ofSeconds(10));
        }
    }
}
