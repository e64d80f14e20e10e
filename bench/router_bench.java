///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Measures the embedded router side by side with Kafka Streams EOS-v2, a plain idempotent producer and Kafka's TransactionalMessageCopier on one local broker.
//JAVA 17+
//DEPS org.apache.kafka:kafka-tools:4.1.1
//DEPS org.apache.kafka:kafka-streams:4.1.1
//SOURCES ../lib/Deps.java ../lib/platform/broker/*.java ../lib/demo/*.java
//JAVA_OPTIONS -Xmx512m

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import canary.cli.Cli;
import canary.cli.MigrationCommand;
import canary.cli.PromoteCommand;
import canary.cli.RouterCommand;
import canary.cli.UpdateRateCommand;
import canary.common.Table;
import canary.common.Waits;
import canary.context.Context;
import canary.context.Role;
import canary.context.Routing;
import canary.demo.DummyService;
import canary.kafka.KafkaCluster;
import canary.kafka.KafkaStateStore;
import canary.kafka.RoutedCounts;
import canary.platform.ProcessVersions;
import canary.platform.Processes;
import canary.platform.SharedClasses;
import canary.platform.broker.LocalBroker;
import canary.release.Lag;
import canary.release.MigrationState;
import canary.release.Operator;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.protocol.ByteBufferAccessor;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.coordinator.transaction.generated.TransactionLogKey;
import org.apache.kafka.coordinator.transaction.generated.TransactionLogValue;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A benchmark, run on demand (not a test): the embedded router side by side with what a user would otherwise run, on ONE
 * local single-node broker that runs as its own child JVM (so that its CPU is its own, read from {@code /proc/<pid>/stat}):
 * <ul>
 *   <li>the router (child JVMs, {@code Processes.javaCommand("canary.cli.RouterCommand", ...)}, {@code -Xmx256m}), routing
 *       prepared as migration does, share 0.5 random;</li>
 *   <li>a Kafka Streams {@code exactly_once_v2} application splitting the topic the same way (a random half to each of two
 *       topics), with its defaults and with {@code commit.interval.ms} set to the router's commit interval;</li>
 *   <li>a plain idempotent {@code acks=all} producer copying the topic the same way (no transactions): the ceiling;</li>
 *   <li>Kafka's {@code org.apache.kafka.tools.TransactionalMessageCopier} (one JVM per partition).</li>
 * </ul>
 * Measured: throughput on a filled topic, end-to-end latency at a fixed rate, transactions per second (committed
 * transactions counted in {@code __transaction_state}), broker CPU, peak RSS; the duration of {@code update_rate --drain} and
 * {@code promote} under load; the router with 1, 2 and 3 instances. Every record of every run is checked exactly once in the
 * outputs (read_committed): a loss or a duplicate ends the bench with an error.
 */
@Command(name = "router_bench", mixinStandardHelpOptions = true,
        description = "Starts a local broker (a child JVM) and measures, in one run, the router next to Kafka Streams EOS-v2 (its defaults, "
                + "and its commit interval set to the router's), a plain idempotent acks=all producer and Kafka's TransactionalMessageCopier: "
                + "throughput, latency at a fixed rate, transactions/s, broker CPU, peak RSS, update_rate --drain and promote under load, "
                + "1-3 router instances. Every record is checked exactly once. Writes the tables to bench/results.md.",
        footer = {"", "Examples:", "  ./jbang bench/router_bench.java", "  ./jbang bench/router_bench.java --quick"})
class router_bench implements Callable<Integer> {

    static final String COPIER = "org.apache.kafka.tools.TransactionalMessageCopier";
    static final Duration SAMPLE_EVERY = Duration.ofMillis(100);
    static final String TRANSACTION_STATE_TOPIC = "__transaction_state";
    /** TransactionState.COMPLETE_COMMIT's id in {@code __transaction_state} values: one such record per committed transaction. */
    static final byte COMPLETE_COMMIT = 4;

    /**
     * The router's options for its commit interval, the one place to wire them: the first of these names that
     * {@link RouterCommand} accepts is passed to every router instance with {@code --router-commit-interval-ms}. A router that
     * has none of them runs with its built-in transactions, and the results say so.
     */
    static final List<String> ROUTER_COMMIT_INTERVAL_OPTIONS = List.of("--commit-interval-ms", "--commit-interval");

    @Spec
    CommandSpec spec;

    @Option(names = "--quick", description = "a short run: 50,000 records, 15 s of latency, a shorter release (figures are noisier)")
    boolean quick;

    @Option(names = "--records", paramLabel = "N", description = "records in the throughput topic (default 200000; 50000 with --quick)")
    Integer records;

    @Option(names = "--record-size", defaultValue = "1024", paramLabel = "BYTES", description = "bytes of each record's value (default ${DEFAULT-VALUE})")
    int recordSize;

    @Option(names = "--partitions", defaultValue = "6", paramLabel = "N", description = "partitions of every source topic (default ${DEFAULT-VALUE})")
    int partitions;

    @Option(names = "--rate", defaultValue = "5000", paramLabel = "RECORDS/S", description = "the fixed rate of the latency runs and of the release (default ${DEFAULT-VALUE})")
    int rate;

    @Option(names = "--latency-seconds", paramLabel = "S", description = "measured seconds of each latency run (default 60; 15 with --quick)")
    Integer latencySeconds;

    @Option(names = "--router-commit-interval-ms", defaultValue = "50", paramLabel = "MS",
            description = "the router's commit interval, passed to the router when it has such an option, and the commit.interval.ms of "
                    + "the second Kafka Streams run (default ${DEFAULT-VALUE}: the router's own default)")
    int routerCommitIntervalMs;

    @Option(names = "--router-commit-bytes", paramLabel = "BYTES",
            description = "the router's byte budget per transaction (--commit-bytes; default: the router's own)")
    Long routerCommitBytes;

    @Option(names = "--transaction-size", defaultValue = "2000", paramLabel = "N",
            description = "the copier's records per transaction in the throughput runs (default ${DEFAULT-VALUE}, the router's max.poll.records)")
    int transactionSize;

    @Option(names = "--runs", defaultValue = "1", paramLabel = "N",
            description = "throughput runs of each contender; the table shows the median and the range (default ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--max-instances", defaultValue = "3", paramLabel = "N", description = "router instances measured: 1 to N (default ${DEFAULT-VALUE})")
    int maxInstances;

    @Option(names = "--timeout", defaultValue = "1800", paramLabel = "SECONDS", description = "the longest one measured run may take (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--only", split = ",", paramLabel = "SECTION",
            description = "measure only these sections (throughput, latency, instances, release, copier; default all); a partial run "
                    + "has no targets table")
    List<String> only = List.of();

    @Option(names = "--contenders", split = ",", paramLabel = "ID",
            description = "the throughput and latency runs measure only these contenders (router, streams-defaults, "
                    + "streams-router-interval, plain, copier; default all)")
    List<String> contenders = List.of();

    @Option(names = "--keep", description = "keep the broker data and every contender's log after a successful run (their folder is said at the end)")
    boolean keep;

    @Option(names = "--results", defaultValue = "bench/results.md", paramLabel = "FILE",
            description = "where to write the results as Markdown (default ${DEFAULT-VALUE})")
    Path results;

    private String[] args = new String[0];
    private PrintWriter out;
    private Path work;
    private Process broker;
    private String bootstrap;
    private Admin admin;
    private final List<Process> children = new ArrayList<>();
    private final List<Processes> kitProcesses = new ArrayList<>();
    private List<String> routerIntervalArgs = List.of();

    public static void main(String[] args) {
        router_bench bench = new router_bench();
        bench.args = args;
        System.exit(Cli.commandLine(bench).execute(args));
    }

    // ------------------------------------------------------------------ the contenders

    enum Kind {
        ROUTER("router"),
        STREAMS_DEFAULTS("Kafka Streams EOS-v2, defaults"),
        STREAMS_ROUTER_INTERVAL("Kafka Streams EOS-v2, commit.interval.ms = router's"),
        PLAIN("plain idempotent acks=all producer (ceiling)"),
        COPIER("TransactionalMessageCopier");

        final String label;

        Kind(String label) {
            this.label = label;
        }

        String id() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** A contender started on a source topic: its processes, the group whose commits show its progress, its outputs. */
    record Running(String label, String group, List<String> outputs, Map<String, Map<Integer, Long>> outputsFrom, String transactionalIdPart,
                   Supplier<List<ProcessHandle>> processes, Supplier<Boolean> failed, Runnable stop) {
    }

    /** One source topic and what was written to it. */
    record Source(String topic, int partitions, long records, long bytes, Map<Integer, Long> endOffsets) {
    }

    Running start(Kind kind, String source, int parts, String name, int instances) throws IOException {
        return switch (kind) {
            case ROUTER -> startRouter(source, parts, name, instances);
            case STREAMS_DEFAULTS -> startChild(kind, "router_bench$StreamsSplit", source, parts, name, "-");
            case STREAMS_ROUTER_INTERVAL -> startChild(kind, "router_bench$StreamsSplit", source, parts, name, String.valueOf(routerCommitIntervalMs));
            case PLAIN -> startChild(kind, "router_bench$PlainCopy", source, parts, name, "-");
            case COPIER -> startCopiers(source, parts, name);
        };
    }

    /** Routing prepared as the migration does it (derived topics, router offsets at 0, state ROUTING + run flag), then N instances. */
    Running startRouter(String source, int parts, String name, int instances) throws IOException {
        Path dir = Files.createDirectories(work.resolve("ctx-" + name));
        Path ctxFile = dir.resolve("context.yaml");
        // The versions are never started here; the context only needs a command for each.
        Files.writeString(ctxFile, "name: " + name + "\n"
                + "topic: " + source + "\n"
                + "partitions: " + parts + "\n"
                + "platform: existing\n"
                + "state_dir: state\n"
                + "kafka:\n  bootstrap_servers: " + bootstrap + "\n"
                + "legacy:\n  group: " + name + "-v1\n  run: [\"true\"]\n"
                + "new:\n  group: " + name + "-v2\n  run: [\"true\"]\n");
        Context ctx = Context.load(ctxFile);
        Map<Integer, Long> start = new TreeMap<>();
        for (int p = 0; p < parts; p++) {
            start.put(p, 0L);
        }
        try (KafkaCluster c = KafkaCluster.connect(clientProperties());
             KafkaStateStore store = KafkaStateStore.of(ctx, clientProperties(), new Operator("bench", "localhost", "router_bench"),
                     java.time.Clock.systemUTC())) {
            store.ensureExists();
            c.createTopic(ctx.legacyTopic(), parts, Map.of());
            c.createTopic(ctx.newTopic(), parts, Map.of());
            // As the migration does: the router commits its routed counts with the records (one more partition per transaction).
            c.createTopic(ctx.countsTopic(), RoutedCounts.PARTITIONS, RoutedCounts.TOPIC_CONFIGS);
            c.setOffsets(ctx.routerGroup(), ctx.topic(), start);
            store.write(-1, MigrationState.start(ctx.name(), Context.EngineKind.ROUTER, Routing.RANDOM, 0.5, start)
                    .withPhase(MigrationState.Phase.ROUTING).withRouterRunning(true), "router_bench");
        }
        // The derived topics are named after the source topic: runs on the same topic share them, each reads its own records.
        Map<String, Map<Integer, Long>> from = Map.of(ctx.legacyTopic(), endOffsets(ctx.legacyTopic()), ctx.newTopic(), endOffsets(ctx.newTopic()));
        Processes processes = new Processes(ctx.stateDir());
        kitProcesses.add(processes);
        List<Long> pids = new ArrayList<>();
        launching();
        for (int i = 0; i < instances; i++) {
            List<String> argv = new ArrayList<>(List.of(ctxFile.toString(), "--instance", String.valueOf(i)));
            argv.addAll(routerIntervalArgs);
            pids.add(processes.start("router-" + i, Processes.javaCommand("canary.cli.RouterCommand", argv.toArray(String[]::new)), dir, Map.of()).pid());
        }
        return new Running(Kind.ROUTER.label, ctx.routerGroup(), List.of(ctx.legacyTopic(), ctx.newTopic()), from, ctx.routerGroup() + "-",
                () -> pids.stream().flatMap(p -> ProcessHandle.of(p).stream()).toList(),
                () -> false,
                () -> {
                    for (int i = 0; i < instances; i++) {
                        processes.stop("router-" + i, Duration.ofSeconds(15));
                    }
                });
    }

    private long launchNanos;
    private long launchBrokerTicks;
    private long launchWallMs;

    /** Marks the moment a contender's JVMs are started: what its throughput run is timed from. */
    private void launching() {
        launchWallMs = System.currentTimeMillis();
        launchBrokerTicks = cpuTicks(broker.pid()).orElse(0L);
        launchNanos = System.nanoTime();
    }

    /** Kafka Streams or the plain copy: one child JVM of this script's class path, outputs {@code <name>-a} and {@code <name>-b}. */
    Running startChild(Kind kind, String mainClass, String source, int parts, String name, String commitIntervalMs) throws IOException {
        String a = name + "-a";
        String b = name + "-b";
        try (KafkaCluster c = KafkaCluster.connect(clientProperties())) {
            c.createTopic(a, parts, Map.of());
            c.createTopic(b, parts, Map.of());
        }
        Path stateDir = Files.createDirectories(work.resolve("streams-state-" + name));
        List<String> argv = Processes.javaCommandWithoutSharing(mainClass, bootstrap, name, source, a, b, stateDir.toString(), commitIntervalMs);
        launching();
        Process proc = startLogged(argv, name);
        return new Running(kind.label, name, List.of(a, b), Map.of(), name + "-",
                () -> proc.isAlive() ? List.of(proc.toHandle()) : List.of(),
                () -> !proc.isAlive() && proc.exitValue() != 0,
                () -> stopGracefully(proc));
    }

    /**
     * The copier, one JVM per partition, one output topic; each ends when it has copied up to the end offset of its partition
     * (so it is measured on a filled topic only).
     */
    Running startCopiers(String source, int parts, String name) throws IOException {
        String output = name + "-out";
        try (KafkaCluster c = KafkaCluster.connect(clientProperties())) {
            c.createTopic(output, parts, Map.of());
        }
        List<Process> started = new ArrayList<>();
        launching();
        for (int p = 0; p < parts; p++) {
            started.add(startLogged(Processes.javaCommandWithoutSharing(COPIER,
                    "--broker-list", bootstrap,
                    "--input-topic", source, "--input-partition", String.valueOf(p),
                    "--output-topic", output,
                    "--consumer-group", name, "--use-group-metadata",
                    "--transactional-id", name + "-" + p,
                    "--transaction-size", String.valueOf(transactionSize),
                    "--max-messages", "-1"), name + "-" + p));
        }
        return new Running(Kind.COPIER.label, name, List.of(output), Map.of(), name + "-",
                () -> started.stream().filter(Process::isAlive).map(Process::toHandle).toList(),
                () -> started.stream().anyMatch(pr -> !pr.isAlive() && pr.exitValue() != 0),
                () -> started.forEach(this::stopGracefully));
    }

    Process startLogged(List<String> argv, String name) throws IOException {
        Path logs = Files.createDirectories(work.resolve("logs"));
        // Output to a file, so that no pipe slows a child down.
        Process proc = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(logs.resolve(name + ".log").toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        children.add(proc);
        return proc;
    }

    void stopGracefully(Process proc) {
        if (proc.isAlive()) {
            proc.destroy();
            if (!waitFor(proc, Duration.ofSeconds(30))) {
                proc.destroyForcibly();
                waitFor(proc, Duration.ofSeconds(10));
            }
        }
    }

    /**
     * The router's commit-interval arguments, when {@link RouterCommand} has one of {@link #ROUTER_COMMIT_INTERVAL_OPTIONS}:
     * a number of milliseconds for an integer option, {@code <n>ms} otherwise.
     */
    List<String> routerCommitIntervalArgs() {
        CommandSpec router = Cli.commandLine(new RouterCommand()).getCommandSpec();
        for (String name : ROUTER_COMMIT_INTERVAL_OPTIONS) {
            OptionSpec o = router.findOption(name);
            if (o != null) {
                Class<?> t = o.type();
                boolean number = t == int.class || t == Integer.class || t == long.class || t == Long.class;
                return List.of(name, number ? String.valueOf(routerCommitIntervalMs) : routerCommitIntervalMs + "ms");
            }
        }
        return List.of();
    }

    // ------------------------------------------------------------------ the run

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        int n = records != null ? records : quick ? 50_000 : 200_000;
        int latency = latencySeconds != null ? latencySeconds : quick ? 15 : 60;
        if (n < 1 || recordSize < 64 || partitions < 1 || transactionSize < 1 || runs < 1 || rate < 1 || latency < 1
                || routerCommitIntervalMs < 1 || maxInstances < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--records, --partitions, --rate, --latency-seconds, "
                    + "--router-commit-interval-ms, --transaction-size, --runs and --max-instances must be 1 or more, --record-size 64 or more");
        }
        List<String> sections = List.of("throughput", "latency", "instances", "release", "copier");
        List<String> ids = Arrays.stream(Kind.values()).map(Kind::id).toList();
        for (String o : only) {
            if (!sections.contains(o)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "unknown --only section '" + o + "': expected some of " + sections);
            }
        }
        for (String c : contenders) {
            if (!ids.contains(c)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "unknown --contenders id '" + c + "': expected some of " + ids);
            }
        }
        Path resultsDir = results.toAbsolutePath().getParent();
        if (resultsDir == null || !Files.isDirectory(resultsDir)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "no folder for " + results + ": run from the repository root or give --results");
        }
        routerIntervalArgs = routerCommitIntervalArgs();
        if (routerCommitBytes != null) {
            List<String> a = new ArrayList<>(routerIntervalArgs);
            a.addAll(List.of("--commit-bytes", String.valueOf(routerCommitBytes)));
            routerIntervalArgs = List.copyOf(a);
        }
        work = Files.createTempDirectory("router-bench");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> cleanUp(true), "bench-cleanup"));
        boolean finished = false;
        Report report = new Report();
        report.date = LocalDate.now().toString();
        report.machine = machine();
        report.loadBefore = loadAverage();
        report.records = n;
        report.latencySeconds = latency;
        try {
            say("machine: " + report.machine + "; load average " + report.loadBefore);
            say(routerIntervalArgs.isEmpty()
                    ? "the router has none of " + ROUTER_COMMIT_INTERVAL_OPTIONS + ": it runs with its own transactions"
                    : "the router runs with " + String.join(" ", routerIntervalArgs));
            startBroker();
            admin = Admin.create(clientProperties());

            Source src = fill("bench-orders", partitions, n);
            say("warm-up (not reported): one router run");
            throughput(Kind.ROUTER, src, "warmup", 1);
            // As after a router's first run anywhere: its JVMs start from the class data sharing archive of what that run loaded.
            report.routerArchive = SharedClasses.awaitArchive(Processes.absoluteClassPath(System.getProperty("java.class.path")),
                    "canary.cli.RouterCommand", Duration.ofMinutes(3));
            say(report.routerArchive ? "the router's JVMs start from its class data sharing archive from now on"
                    : "no class data sharing archive for the router (see the cds-RouterCommand-*.log next to the script's jar)");

            // The contenders take turns (run 1 of each, then run 2 of each, ...), so that a machine that slows down or speeds up
            // during the bench weighs on all of them alike. The copier is the slowest (one JVM per partition): measured last,
            // so that a run cut short still has the rest.
            List<Kind> contendersMeasured = Stream.of(Kind.ROUTER, Kind.STREAMS_DEFAULTS, Kind.STREAMS_ROUTER_INTERVAL, Kind.PLAIN)
                    .filter(k -> measures("throughput", k)).toList();
            Map<Kind, List<Result>> byKind = new java.util.EnumMap<>(Kind.class);
            for (int run = 1; run <= runs; run++) {
                for (Kind k : contendersMeasured) {
                    byKind.computeIfAbsent(k, x -> new ArrayList<>()).add(throughput(k, src, "run" + run, 1));
                }
            }
            for (Kind k : contendersMeasured) {
                report.throughput.add(Result.median(byKind.get(k)));
            }
            progress(report);
            for (Kind k : Kind.values()) {
                // The copier ends as soon as it has copied up to the end offset it sees: it cannot follow a live topic.
                if (k != Kind.COPIER && measures("latency", k)) {
                    report.latency.add(latency(k, latency));
                    progress(report);
                }
            }
            for (int i = 1; i <= maxInstances && measures("instances", Kind.ROUTER); i++) {
                report.instances.add(throughput(Kind.ROUTER, src, "instances" + i, i));
                progress(report);
            }
            if (measures("release", Kind.ROUTER)) {
                report.release = release(quick ? Duration.ofSeconds(5) : Duration.ofSeconds(15));
                progress(report);
            }
            if (measures("copier", Kind.COPIER)) {
                List<Result> copier = new ArrayList<>();
                for (int run = 1; run <= runs; run++) {
                    copier.add(throughput(Kind.COPIER, src, "run" + run, 1));
                }
                report.throughput.add(Result.median(copier));
            }
            report.complete = only.isEmpty() && contenders.isEmpty();
            report.benchHwmKb = status(ProcessHandle.current().pid(), "VmHWM").orElse(0L);
            report.loadAfter = loadAverage();

            String md = markdown(report);
            out.println();
            out.println(md);
            Files.writeString(results, md);
            say("results written to " + results);
            finished = true;
            return 0;
        } finally {
            if ((!finished || keep) && work != null) {
                say("the broker data and the logs stay in " + work);
            }
            cleanUp(finished && !keep);
        }
    }

    /** Whether this run measures {@code section} ({@code --only}) for contender {@code k} ({@code --contenders}). */
    boolean measures(String section, Kind k) {
        return (only.isEmpty() || only.contains(section)) && (contenders.isEmpty() || contenders.contains(k.id()));
    }

    /** Writes what was measured so far, marked incomplete: a run stopped half-way still leaves its figures. */
    void progress(Report r) throws IOException {
        r.loadAfter = loadAverage() + " (so far)";
        Files.writeString(results, markdown(r));
    }

    void startBroker() throws IOException {
        int port = LocalBroker.freePort();
        List<String> argv = new ArrayList<>(Processes.javaCommand("canary.platform.broker.LocalBroker", work.resolve("broker").toString(),
                String.valueOf(port), String.valueOf(LocalBroker.freePort())));
        // The broker gets the heap of a small production broker, not the kit's 256 MB.
        argv.replaceAll(a -> a.equals("-Xmx256m") ? "-Xmx1g" : a);
        broker = startLogged(argv, "broker");
        bootstrap = "127.0.0.1:" + port;
        say("local broker: pid " + broker.pid() + " on " + bootstrap + " (log " + work.resolve("logs/broker.log") + ")");
        try (Admin a = Admin.create(clientProperties())) {
            Waits.until("the local broker on " + bootstrap + " answers", Duration.ofMinutes(2), Waits.quiet(), () -> {
                if (!broker.isAlive()) {
                    throw new IllegalStateException("the broker ended (exit " + broker.exitValue() + "); see " + work.resolve("logs/broker.log"));
                }
                try {
                    a.describeCluster().nodes().get(5, TimeUnit.SECONDS);
                    return true;
                } catch (Exception e) {
                    return false;
                }
            });
        }
    }

    // ------------------------------------------------------------------ records

    /**
     * A record's value: {@code {"id":"<n>","sent":<epoch micros>,"pad":"<letters and digits>"}}, {@code size} bytes. JSON so
     * that the kit's dummy service reads its id; the send time travels in the value because every contender copies values
     * byte for byte (the copier drops headers and timestamps).
     */
    static byte[] value(long id, long sentMicros, int size, SplittableRandom random) {
        String head = "{\"id\":\"" + id + "\",\"sent\":" + sentMicros + ",\"pad\":\"";
        byte[] v = new byte[Math.max(size, head.length() + 2)];
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(h, 0, v, 0, h.length);
        for (int i = h.length; i < v.length - 2; i++) {
            int r = random.nextInt(62);
            v[i] = (byte) (r < 10 ? '0' + r : r < 36 ? 'a' + r - 10 : 'A' + r - 36);
        }
        v[v.length - 2] = '"';
        v[v.length - 1] = '}';
        return v;
    }

    /** The number after {@code "id":"} in a value of {@link #value}. */
    static long idOf(byte[] v) {
        return number(v, 7);
    }

    static long sentOf(byte[] v) {
        int i = 7;
        while (v[i] != '"') {
            i++;
        }
        return number(v, i + 9);
    }

    private static long number(byte[] v, int from) {
        long n = 0;
        for (int i = from; i < v.length && v[i] >= '0' && v[i] <= '9'; i++) {
            n = n * 10 + (v[i] - '0');
        }
        return n;
    }

    static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1000;
    }

    /** Creates {@code topic} and fills it with {@code n} records, record i on partition i % parts (not timed). */
    Source fill(String topic, int parts, int n) {
        try (KafkaCluster c = KafkaCluster.connect(clientProperties())) {
            c.createTopic(topic, parts, Map.of());
        }
        Properties p = clientProperties();
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
        long start = System.nanoTime();
        long bytes = 0;
        SplittableRandom random = new SplittableRandom(42);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            for (int i = 0; i < n; i++) {
                byte[] key = ("order-" + i).getBytes(StandardCharsets.UTF_8);
                byte[] value = value(i, 0, recordSize, random);
                bytes += key.length + value.length;
                producer.send(new ProducerRecord<>(topic, i % parts, key, value));
            }
            producer.flush();
        }
        say(String.format(Locale.ROOT, "filled %s: %,d records of %,d bytes in %d partitions (%.1f s, not timed)",
                topic, n, recordSize, parts, (System.nanoTime() - start) / 1e9));
        return new Source(topic, parts, n, bytes, endOffsets(topic));
    }

    /** Writes records at a fixed rate from a thread of this JVM, record i on partition i % parts, its send time in the value. */
    final class Load implements AutoCloseable {
        final String topic;
        final int parts;
        final KafkaProducer<byte[], byte[]> producer;
        final Thread thread;
        final AtomicLong sent = new AtomicLong();
        volatile boolean stop;
        volatile Exception failure;

        Load(String topic, int parts) {
            this.topic = topic;
            this.parts = parts;
            Properties p = clientProperties();
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            p.put(ProducerConfig.LINGER_MS_CONFIG, "1");
            producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
            thread = new Thread(this::run, "bench-load");
            thread.setDaemon(true);
            thread.start();
        }

        void run() {
            SplittableRandom random = new SplittableRandom(7);
            long t0 = System.nanoTime();
            try {
                while (!stop) {
                    long due = (System.nanoTime() - t0) * rate / 1_000_000_000L;
                    for (long i = sent.get(); i < due && !stop; i = sent.incrementAndGet()) {
                        producer.send(new ProducerRecord<>(topic, (int) (i % parts), ("order-" + i).getBytes(StandardCharsets.UTF_8),
                                value(i, nowMicros(), recordSize, random)), (md, e) -> {
                                    if (e != null) {
                                        failure = e;
                                    }
                                });
                    }
                    Thread.sleep(1);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Stops sending; returns how many records were sent (ids 0 to that number - 1). */
        long stop() {
            stop = true;
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            producer.flush();
            if (failure != null) {
                throw new IllegalStateException("the load producer failed: " + failure, failure);
            }
            return sent.get();
        }

        @Override
        public void close() {
            stop = true;
            producer.close(Duration.ofSeconds(5));
        }
    }

    // ------------------------------------------------------------------ throughput

    /** The outcome of one throughput run. */
    record Result(String what, int instances, int processes, Source source, double seconds, double startupSeconds, long peakRssKb, double cpuSeconds,
                  double brokerCpuSeconds, long transactions, String note, int runs, double slowest, double fastest) {

        /** The run with the median time, with the range of rates and the highest memory over all the runs. */
        static Result median(List<Result> runs) {
            List<Result> byTime = runs.stream().sorted(Comparator.comparingDouble(Result::seconds)).toList();
            Result m = byTime.get((byTime.size() - 1) / 2);
            return new Result(m.what, m.instances, m.processes, m.source, m.seconds, m.startupSeconds, runs.stream().mapToLong(Result::peakRssKb).max().orElse(0),
                    m.cpuSeconds, m.brokerCpuSeconds, m.transactions, m.note, runs.size(),
                    byTime.get(byTime.size() - 1).recordsPerSecond(), byTime.get(0).recordsPerSecond());
        }

        double recordsPerSecond() {
            return source.records() / seconds;
        }

        /** The rate from the first committed offset to the end: JVM start-up and group join left out. */
        double recordsPerSecondAfterStartup() {
            return source.records() / (seconds - startupSeconds);
        }

        double megabytesPerSecond() {
            return source.bytes() / 1e6 / seconds;
        }
    }

    /**
     * One contender on the filled topic, with its own group and outputs: timed from the start of its JVMs until its group's
     * committed offsets reach the end of the source; then every output record read back (read_committed) and checked.
     */
    Result throughput(Kind kind, Source src, String run, int instances) throws IOException {
        String name = "tp-" + kind.id() + "-" + run;
        String what = kind.label + (instances > 1 ? ", " + instances + " instances" : "");
        say(what + " (" + run + "): starting");
        Running r = start(kind, src.topic(), src.partitions(), name, instances);
        // Timed from the start of its JVMs: creating its output topics and preparing its group are left out for every contender.
        long brokerCpu0 = launchBrokerTicks;
        long wall0 = launchWallMs;
        long t0 = launchNanos;
        Watch w = watch(what, r, src, t0);
        long brokerCpu1 = cpuTicks(broker.pid()).orElse(0L);
        long wall1 = System.currentTimeMillis();
        r.stop().run();
        Check c = check(what, r, 0, src.records());
        long txns = commits(r.transactionalIdPart(), wall0, wall1 + 5_000);
        String note = String.format(Locale.ROOT, "%,d records in %s, %s", c.records(), String.join(" + ", r.outputs()), c.split());
        Result res = new Result(what, instances, kind == Kind.COPIER ? src.partitions() : instances, src, (w.done - t0) / 1e9, (w.firstCommit - t0) / 1e9,
                w.peakHwmKb(), w.cpuSeconds(), (brokerCpu1 - brokerCpu0) / (double) CLOCK_TICKS, txns, note, 1, 0, 0);
        say(String.format(Locale.ROOT, "  %s: %,d records in %.1f s: %,.0f records/s, peak RSS %d MB, %,d transactions, broker CPU %.1f s",
                what, src.records(), res.seconds(), res.recordsPerSecond(), mb(res.peakRssKb()), txns, res.brokerCpuSeconds()));
        return res;
    }

    /** What was seen while a run ran: when it was done, resident memory and CPU of its processes. */
    static final class Watch {
        long done = -1;
        long firstCommit = -1;
        final Map<Long, Long> hwmKb = new HashMap<>();
        final Map<Long, Long> cpuTicks = new HashMap<>();

        void sample(List<ProcessHandle> procs) {
            for (ProcessHandle h : procs) {
                for (ProcessHandle p : Stream.concat(Stream.of(h), h.descendants()).toList()) {
                    status(p.pid(), "VmHWM").ifPresent(v -> hwmKb.merge(p.pid(), v, Math::max));
                    cpuTicks(p.pid()).ifPresent(v -> cpuTicks.merge(p.pid(), v, Math::max));
                }
            }
        }

        long peakHwmKb() {
            return hwmKb.values().stream().mapToLong(Long::longValue).max().orElse(0);
        }

        double cpuSeconds() {
            return cpuTicks.values().stream().mapToLong(Long::longValue).sum() / (double) CLOCK_TICKS;
        }
    }

    /** Samples every 100 ms until the group's committed offsets reach the end offsets of the source. */
    Watch watch(String what, Running r, Source src, long t0) {
        Watch w = new Watch();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        long lastSaid = t0;
        while (true) {
            w.sample(r.processes().get());
            Map<Integer, Long> committed = committedOffsets(r.group(), src.topic());
            long now = System.nanoTime();
            long done = 0;
            boolean all = true;
            for (Map.Entry<Integer, Long> e : src.endOffsets().entrySet()) {
                long c = committed.getOrDefault(e.getKey(), 0L);
                done += Math.min(c, e.getValue());
                all &= c >= e.getValue();
            }
            if (done > 0 && w.firstCommit < 0) {
                w.firstCommit = now;
            }
            if (all) {
                w.done = now;
                if (w.firstCommit < 0) {
                    w.firstCommit = now;
                }
                w.sample(r.processes().get());
                return w;
            }
            if (r.failed().get()) {
                throw new IllegalStateException(what + " failed before copying everything; see the logs under " + work.resolve("logs"));
            }
            if (r.processes().get().isEmpty() && now - t0 > TimeUnit.SECONDS.toNanos(30)) {
                throw new IllegalStateException(what + ": no process runs any more and " + (Lag.total(src.endOffsets()) - done)
                        + " records are not committed; see the logs under " + work);
            }
            if (now > deadline) {
                throw new IllegalStateException(what + " did not finish within " + timeoutSeconds + " s (" + done + " of "
                        + Lag.total(src.endOffsets()) + " offsets committed)");
            }
            if (now - lastSaid > TimeUnit.SECONDS.toNanos(10)) {
                say(String.format(Locale.ROOT, "  %s: %,d of %,d committed, %.0f s", what, done, Lag.total(src.endOffsets()), (now - t0) / 1e9));
                lastSaid = now;
            }
            sleep(SAMPLE_EVERY);
        }
    }

    // ------------------------------------------------------------------ exactly once

    /** What the outputs held: the records, and how they were split between the outputs. */
    record Check(long records, String split) {
    }

    /**
     * Reads every output topic in full with read_committed and fails unless ids {@code from} to {@code to - 1} are each there
     * exactly once and nothing else is.
     */
    Check check(String what, Running r, long from, long to) {
        List<String> outputs = r.outputs();
        BitSet seen = new BitSet();
        long[] duplicates = {0};
        long[] strangers = {0};
        List<String> perOutput = new ArrayList<>();
        long total = 0;
        for (String topic : outputs) {
            long[] n = {0};
            readAll(topic, r.outputsFrom().getOrDefault(topic, Map.of()), rec -> {
                long id = idOf(rec.value());
                n[0]++;
                if (id < from || id >= to) {
                    strangers[0]++;
                } else if (seen.get((int) (id - from))) {
                    duplicates[0]++;
                } else {
                    seen.set((int) (id - from));
                }
            });
            perOutput.add(String.format(Locale.ROOT, "%,d", n[0]));
            total += n[0];
        }
        long missing = (to - from) - seen.cardinality();
        if (duplicates[0] != 0 || missing != 0 || strangers[0] != 0) {
            throw new IllegalStateException(String.format(Locale.ROOT, "EXACTLY-ONCE VIOLATED by %s: %,d of %,d records missing, %,d duplicates, "
                    + "%,d records with unexpected ids in %s", what, missing, to - from, duplicates[0], strangers[0], outputs));
        }
        return new Check(total, "split " + String.join(" / ", perOutput) + ", each id once");
    }

    /** Every record of a topic up to its current end, read with read_committed in a tight loop. */
    void readAll(String topic, Map<Integer, Long> from, java.util.function.Consumer<ConsumerRecord<byte[], byte[]>> each) {
        Map<Integer, Long> end = endOffsets(topic);
        Properties p = clientProperties();
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        List<TopicPartition> tps = end.keySet().stream().map(n -> new TopicPartition(topic, n)).toList();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.assign(tps);
            for (TopicPartition tp : tps) {
                c.seek(tp, from.getOrDefault(tp.partition(), 0L));
            }
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp.partition()))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("reading " + topic + " took over 5 minutes");
                }
                c.poll(Duration.ofMillis(500)).forEach(each);
            }
        }
    }

    /**
     * Committed transactions of the transactional ids that contain {@code idPart}, between two wall-clock times: the
     * CompleteCommit records the coordinator wrote to {@code __transaction_state} (one per committed transaction).
     */
    long commits(String idPart, long fromMs, long toMs) {
        Properties p = clientProperties();
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        long n = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = c.partitionsFor(TRANSACTION_STATE_TOPIC).stream()
                    .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            c.assign(tps);
            c.seekToBeginning(tps);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("reading " + TRANSACTION_STATE_TOPIC + " took over 2 minutes");
                }
                for (ConsumerRecord<byte[], byte[]> rec : c.poll(Duration.ofMillis(500))) {
                    if (rec.value() == null || rec.timestamp() < fromMs || rec.timestamp() > toMs) {
                        continue;
                    }
                    ByteBuffer k = ByteBuffer.wrap(rec.key());
                    TransactionLogKey key = new TransactionLogKey(new ByteBufferAccessor(k), k.getShort());
                    if (!key.transactionalId().contains(idPart)) {
                        continue;
                    }
                    ByteBuffer v = ByteBuffer.wrap(rec.value());
                    TransactionLogValue value = new TransactionLogValue(new ByteBufferAccessor(v), v.getShort());
                    if (value.transactionStatus() == COMPLETE_COMMIT) {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ latency

    /** p50, p99 and max of end-to-end latencies, in ms. */
    record Latency(String what, double seconds, long measured, double p50Ms, double p99Ms, double maxMs, long transactions,
                   double brokerCpuSeconds, double cpuSeconds, long peakRssKb, String note) {

        double transactionsPerSecond() {
            return transactions / seconds;
        }

        /** Broker CPU microseconds per measured record. */
        double brokerCpuMicrosPerRecord() {
            return brokerCpuSeconds * 1e6 / measured;
        }
    }

    /** The nearest-rank percentile of sorted values: the smallest value with at least q of all values at or below it. */
    static long percentile(long[] sorted, double q) {
        if (sorted.length == 0) {
            throw new IllegalArgumentException("no values");
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
    }

    /** A read_committed consumer of the outputs in this JVM: for each id, when it arrived minus when it was sent. */
    final class Receiver implements AutoCloseable {
        final Thread thread;
        final AtomicLong distinct = new AtomicLong();
        final AtomicLong duplicates = new AtomicLong();
        volatile boolean stop;
        volatile Exception failure;
        long[] latencyMicros = new long[1 << 16];
        final BitSet seen = new BitSet();

        Receiver(List<String> outputs) {
            Properties p = clientProperties();
            p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
            KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
            List<TopicPartition> tps = new ArrayList<>();
            for (String topic : outputs) {
                for (PartitionInfo i : c.partitionsFor(topic)) {
                    tps.add(new TopicPartition(topic, i.partition()));
                }
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            thread = new Thread(() -> {
                try (c) {
                    while (!stop) {
                        ConsumerRecords<byte[], byte[]> recs = c.poll(Duration.ofMillis(100));
                        long now = nowMicros();
                        for (ConsumerRecord<byte[], byte[]> rec : recs) {
                            int id = (int) idOf(rec.value());
                            if (seen.get(id)) {
                                duplicates.incrementAndGet();
                                continue;
                            }
                            if (id >= latencyMicros.length) {
                                latencyMicros = Arrays.copyOf(latencyMicros, Math.max(id + 1, latencyMicros.length * 2));
                            }
                            latencyMicros[id] = now - sentOf(rec.value());
                            seen.set(id);
                            distinct.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    failure = e;
                }
            }, "bench-receiver");
            thread.start();
        }

        @Override
        public void close() {
            stop = true;
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * One contender on a topic of its own, fed at the fixed rate: a warm-up until records come out plus 5 s (not measured),
     * then {@code seconds} measured; the latency of every record sent in the measured window, the committed transactions,
     * broker and contender CPU in it; then every record sent checked exactly once.
     */
    Latency latency(Kind kind, int seconds) throws IOException {
        String name = "lat-" + kind.id();
        String source = name + "-src";
        try (KafkaCluster c = KafkaCluster.connect(clientProperties())) {
            c.createTopic(source, partitions, Map.of());
        }
        say(kind.label + ": latency at " + rate + " records/s for " + seconds + " s");
        Running r = start(kind, source, partitions, name, 1);
        Watch w = new Watch();
        try (Load load = new Load(source, partitions); Receiver rx = new Receiver(r.outputs())) {
            Waits.until(kind.label + " delivers its first record", Duration.ofMinutes(2), Waits.quiet(), () -> {
                w.sample(r.processes().get());
                if (r.failed().get()) {
                    throw new IllegalStateException(kind.label + " failed; see the logs under " + work.resolve("logs"));
                }
                return rx.distinct.get() > 0;
            });
            // The records sent while its JVMs started are a backlog: the window starts once it has caught up (less than a
            // second of records behind), or after two minutes of trying, which the notes then say.
            long catchUpDeadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
            boolean caughtUp = false;
            while (!caughtUp && System.nanoTime() < catchUpDeadline) {
                sleepSampling(w, r, Duration.ofSeconds(1));
                caughtUp = rx.distinct.get() >= load.sent.get() - rate;
            }
            long warmupRecords = load.sent.get();
            sleepSampling(w, r, Duration.ofSeconds(5));
            long from = load.sent.get();
            long brokerCpu0 = cpuTicks(broker.pid()).orElse(0L);
            Map<Long, Long> cpu0 = new HashMap<>(w.cpuTicks);
            long wall0 = System.currentTimeMillis();
            long t0 = System.nanoTime();
            sleepSampling(w, r, Duration.ofSeconds(seconds));
            long to = load.sent.get();
            long t1 = System.nanoTime();
            long wall1 = System.currentTimeMillis();
            long brokerCpu1 = cpuTicks(broker.pid()).orElse(0L);
            w.sample(r.processes().get());
            double contenderCpu = w.cpuTicks.entrySet().stream().mapToLong(e -> e.getValue() - cpu0.getOrDefault(e.getKey(), 0L)).sum()
                    / (double) CLOCK_TICKS;
            long sent = load.stop();
            Waits.until(kind.label + " delivers the " + sent + " records sent", Duration.ofMinutes(2), Waits.quiet(),
                    () -> rx.distinct.get() >= sent || rx.failure != null);
            rx.close();
            if (rx.failure != null) {
                throw new IllegalStateException("reading the outputs of " + kind.label + " failed: " + rx.failure, rx.failure);
            }
            long[] lat = Arrays.copyOfRange(rx.latencyMicros, (int) from, (int) to);
            Arrays.sort(lat);
            long txns = commits(r.transactionalIdPart(), wall0, wall1);
            r.stop().run();
            // The receiver saw each id once; the full read afterwards checks the same for the whole run, from the committed log.
            Check c = check(kind.label + " at " + rate + " records/s", r, 0, sent);
            if (rx.duplicates.get() != 0) {
                throw new IllegalStateException("EXACTLY-ONCE VIOLATED by " + kind.label + ": the live reader saw " + rx.duplicates.get() + " duplicates");
            }
            Latency l = new Latency(kind.label, (t1 - t0) / 1e9, to - from, percentile(lat, 0.5) / 1000.0, percentile(lat, 0.99) / 1000.0,
                    lat[lat.length - 1] / 1000.0, txns, (brokerCpu1 - brokerCpu0) / (double) CLOCK_TICKS, contenderCpu, w.peakHwmKb(),
                    String.format(Locale.ROOT, "%,d records sent in all; %s; %s", sent, caughtUp
                            ? String.format(Locale.ROOT, "caught up with the records sent during its start-up after %,d records", warmupRecords)
                            : "NOT caught up with its start-up backlog after 2 minutes: the window starts behind", c.split()));
            say(String.format(Locale.ROOT, "  %s: p50 %.1f ms, p99 %.1f ms, max %.1f ms, %.1f transactions/s, broker CPU %.1f s, peak RSS %d MB",
                    l.what(), l.p50Ms(), l.p99Ms(), l.maxMs(), l.transactionsPerSecond(), l.brokerCpuSeconds(), mb(l.peakRssKb())));
            return l;
        } finally {
            r.stop().run();
        }
    }

    void sleepSampling(Watch w, Running r, Duration d) {
        long end = System.nanoTime() + d.toNanos();
        while (System.nanoTime() < end) {
            w.sample(r.processes().get());
            if (r.failed().get()) {
                throw new IllegalStateException("a process failed; see the logs under " + work.resolve("logs"));
            }
            sleep(SAMPLE_EVERY);
        }
    }

    // ------------------------------------------------------------------ a release under load

    /** How long the kit's commands took on a release under load. */
    record Release(double migrationSeconds, double drainSeconds, double promoteSeconds, long records, String note) {
    }

    /**
     * A release as users run it, under the fixed-rate load: the dummy service as both versions (started by the kit), legacy
     * on the topic, then {@code migration 0.5}, {@code update_rate 0.9 --drain}, {@code promote}, each run in this JVM
     * through its picocli command as the scripts run it, and timed. Then every record sent checked exactly once over what the
     * two versions processed.
     */
    Release release(Duration between) throws IOException {
        String name = "rel-orders";
        Path dir = Files.createDirectories(work.resolve("ctx-" + name));
        Path ctxFile = dir.resolve("context.yaml");
        // One command for both versions: without an archive, or the two would record their classes into one list file.
        String service = Processes.javaCommandWithoutSharing("canary.demo.DummyService", "{context}", "{service}", "{topic}").stream()
                .map(a -> "\"" + a.replace("\\", "\\\\").replace("\"", "\\\"") + "\"").collect(Collectors.joining(", ", "[", "]"));
        Files.writeString(ctxFile, "name: " + name + "\n"
                + "topic: " + name + "\n"
                + "partitions: " + partitions + "\n"
                + "platform: existing\n"
                + "state_dir: state\n"
                + "kafka:\n  bootstrap_servers: " + bootstrap + "\n"
                + "legacy:\n  group: " + name + "-v1\n  run: " + service + "\n"
                + "new:\n  group: " + name + "-v2\n  run: " + service + "\n");
        Context ctx = Context.load(ctxFile);
        Processes processes = new Processes(ctx.stateDir());
        kitProcesses.add(processes);
        try (KafkaCluster c = KafkaCluster.connect(clientProperties())) {
            c.createTopic(name, partitions, Map.of());
        }
        say("release under load (" + rate + " records/s): legacy, migration 0.5, update_rate 0.9 --drain, promote");
        try (Load load = new Load(name, partitions)) {
            try (KafkaCluster c = KafkaCluster.connect(clientProperties())) {
                new ProcessVersions(ctx, c, processes, Waits.quiet()).start(Role.LEGACY, name, Duration.ofMinutes(1));
            }
            Waits.until("legacy commits on every partition", Duration.ofMinutes(2), Waits.quiet(),
                    () -> committedOffsets(ctx.legacy().group(), name).values().stream().filter(o -> o > 0).count() == partitions);
            sleep(between);
            double migration = timed("migration", new MigrationCommand(), dir, ctxFile.toString(), "0.5");
            sleep(between);
            double drain = timed("update_rate --drain", new UpdateRateCommand(), dir, ctxFile.toString(), "0.9", "--drain");
            sleep(between);
            double promote = timed("promote", new PromoteCommand(), dir, ctxFile.toString());
            sleep(between);
            long sent = load.stop();
            Map<Integer, Long> end = endOffsets(name);
            Waits.until("the new version processed the original topic to its end", Duration.ofMinutes(3), Waits.quiet(), () -> {
                Map<Integer, Long> committed = committedOffsets(ctx.newVersion().group(), name);
                return end.entrySet().stream().allMatch(e -> committed.getOrDefault(e.getKey(), 0L) >= e.getValue());
            });
            BitSet seen = new BitSet();
            long duplicates = 0;
            long strangers = 0;
            String split = "";
            for (String group : List.of(ctx.legacy().group(), ctx.newVersion().group())) {
                List<DummyService.Processed> done = DummyService.readProcessed(DummyService.outputFile(ctx.stateDir(), group));
                split += (split.isEmpty() ? "" : " / ") + String.format(Locale.ROOT, "%,d", done.size());
                for (DummyService.Processed p : done) {
                    long id;
                    try {
                        id = Long.parseLong(p.id());
                    } catch (NumberFormatException e) {
                        strangers++;
                        continue;
                    }
                    if (id < 0 || id >= sent) {
                        strangers++;
                    } else if (seen.get((int) id)) {
                        duplicates++;
                    } else {
                        seen.set((int) id);
                    }
                }
            }
            long missing = sent - seen.cardinality();
            if (missing != 0 || duplicates != 0 || strangers != 0) {
                throw new IllegalStateException(String.format(Locale.ROOT, "EXACTLY-ONCE VIOLATED in the release: %,d of %,d records missing, "
                        + "%,d processed twice, %,d unknown", missing, sent, duplicates, strangers));
            }
            Release rel = new Release(migration, drain, promote, sent, String.format(Locale.ROOT,
                    "%,d records sent; processed by legacy / new: %s, each id once", sent, split));
            say(String.format(Locale.ROOT, "  migration %.1f s, update_rate --drain %.1f s, promote %.1f s; %s", migration, drain, promote, rel.note()));
            return rel;
        } finally {
            for (String running : processes.running()) {
                processes.stop(running, Duration.ofSeconds(15));
            }
        }
    }

    /** Runs one of the kit's commands in this JVM as its script would, its output to a log; its duration in seconds. */
    double timed(String what, Object command, Path dir, String... args) throws IOException {
        Path log = Files.createDirectories(work.resolve("logs")).resolve(what.replaceAll("[^a-z_]", "") + ".log");
        CommandLine cl = Cli.commandLine(command);
        int code;
        long t0 = System.nanoTime();
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(log), true)) {
            cl.setOut(w);
            cl.setErr(w);
            code = cl.execute(args);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        if (code != 0) {
            throw new IllegalStateException(what + " failed (exit " + code + "):\n" + Files.readString(log));
        }
        say(String.format(Locale.ROOT, "  %s: %.2f s", what, s));
        return s;
    }

    // ------------------------------------------------------------------ Kafka offsets

    /** Committed offsets only (not pending transactional ones), so polling never waits on open transactions. */
    Map<Integer, Long> committedOffsets(String group, String topic) {
        try {
            Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group, new ListConsumerGroupOffsetsOptions().requireStable(false))
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            Map<Integer, Long> o = new TreeMap<>();
            m.forEach((tp, om) -> {
                if (om != null && tp.topic().equals(topic)) {
                    o.put(tp.partition(), om.offset());
                }
            });
            return o;
        } catch (Exception e) {
            return Map.of();
        }
    }

    Map<Integer, Long> endOffsets(String topic) {
        try (KafkaCluster c = KafkaCluster.connect(clientProperties())) {
            return c.endOffsets(topic);
        }
    }

    // ------------------------------------------------------------------ the other contenders' processes

    /**
     * A Kafka Streams exactly_once_v2 application that sends each record of the source to one of two topics at random, half
     * each: {@code StreamsSplit <bootstrap> <application.id> <source> <a> <b> <state.dir> <commit.interval.ms or ->}.
     */
    public static final class StreamsSplit {
        public static void main(String[] a) throws InterruptedException {
            Properties p = new Properties();
            p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, a[0]);
            p.put(StreamsConfig.APPLICATION_ID_CONFIG, a[1]);
            p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
            p.put(StreamsConfig.STATE_DIR_CONFIG, a[5]);
            if (!a[6].equals("-")) {
                p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, a[6]);
            }
            String left = a[3];
            String right = a[4];
            StreamsBuilder b = new StreamsBuilder();
            b.stream(a[2], Consumed.with(Serdes.ByteArray(), Serdes.ByteArray()))
                    .to((k, v, rc) -> ThreadLocalRandom.current().nextBoolean() ? left : right, Produced.with(Serdes.ByteArray(), Serdes.ByteArray()));
            KafkaStreams streams = new KafkaStreams(b.build(), p);
            CountDownLatch stopped = new CountDownLatch(1);
            int[] code = {0};
            streams.setUncaughtExceptionHandler(e -> {
                e.printStackTrace();
                code[0] = 3;
                stopped.countDown();
                return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
            });
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                streams.close(Duration.ofSeconds(20));
                stopped.countDown();
            }, "streams-shutdown"));
            streams.start();
            stopped.await();
            if (code[0] != 0) {
                Runtime.getRuntime().halt(code[0]);
            }
        }
    }

    /**
     * The ceiling: a consumer and an idempotent acks=all producer without transactions, each record to one of two topics at
     * random (same partition, key, value, timestamp); offsets committed after a flush, at most every 100 ms:
     * {@code PlainCopy <bootstrap> <group> <source> <a> <b> <unused> <unused>}.
     */
    public static final class PlainCopy {
        public static void main(String[] a) {
            Properties cp = new Properties();
            cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, a[0]);
            cp.put(ConsumerConfig.GROUP_ID_CONFIG, a[1]);
            cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            cp.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
            cp.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
            Properties pp = new Properties();
            pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, a[0]);
            pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
            pp.put(ProducerConfig.ACKS_CONFIG, "all");
            pp.put(ProducerConfig.LINGER_MS_CONFIG, "5");
            pp.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
            AtomicLong stop = new AtomicLong();
            CountDownLatch finished = new CountDownLatch(1);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stop.set(1);
                try {
                    finished.await(20, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "copy-shutdown"));
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                 KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
                consumer.subscribe(List.of(a[2]));
                long lastCommit = System.nanoTime();
                boolean pending = false;
                while (stop.get() == 0) {
                    ConsumerRecords<byte[], byte[]> recs = consumer.poll(Duration.ofMillis(50));
                    for (ConsumerRecord<byte[], byte[]> r : recs) {
                        producer.send(new ProducerRecord<>(ThreadLocalRandom.current().nextBoolean() ? a[3] : a[4], r.partition(), r.timestamp(),
                                r.key(), r.value(), r.headers()));
                        pending = true;
                    }
                    if (pending && (recs.isEmpty() || System.nanoTime() - lastCommit > 100_000_000L)) {
                        producer.flush();
                        consumer.commitAsync();
                        lastCommit = System.nanoTime();
                        pending = false;
                    }
                }
                producer.flush();
                consumer.commitSync();
            } finally {
                finished.countDown();
            }
        }
    }

    // ------------------------------------------------------------------ /proc and the machine

    static final long CLOCK_TICKS = clockTicks();

    /** A {@code kB} field of /proc/PID/status (VmRSS, VmHWM). */
    static Optional<Long> status(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
                if (line.startsWith(field + ":")) {
                    return Optional.of(Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]));
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process has ended between the listing and the read
        }
        return Optional.empty();
    }

    /** User + system CPU of a process in clock ticks (/proc/PID/stat fields 14 and 15). */
    static Optional<Long> cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Optional.of(Long.parseLong(f[11]) + Long.parseLong(f[12]));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String s = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 ? Long.parseLong(s) : 100;
        } catch (IOException | RuntimeException e) {
            return 100;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 100;
        }
    }

    static long mb(long kb) {
        return Math.round(kb / 1024.0);
    }

    /** The first three fields of /proc/loadavg: how busy the machine was with other work too. */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " / " + f[1] + " / " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static String machine() {
        long memKb = 0;
        String cpu = "";
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    memKb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("");
        } catch (IOException e) {
            // not Linux: leave them out
        }
        String os = System.getProperty("os.name");
        try {
            os = Files.readAllLines(Path.of("/etc/os-release")).stream().filter(l -> l.startsWith("PRETTY_NAME="))
                    .map(l -> l.substring("PRETTY_NAME=".length()).replace("\"", "")).findFirst().orElse(os);
        } catch (IOException e) {
            // keep os.name
        }
        return String.format(Locale.ROOT, "%d cores%s, %.1f GiB memory, %s, Java %s (%s)",
                Runtime.getRuntime().availableProcessors(), cpu.isEmpty() ? "" : " (" + cpu + ")",
                memKb / 1024.0 / 1024.0, os, System.getProperty("java.version"), System.getProperty("java.vm.name"));
    }

    // ------------------------------------------------------------------ reporting

    /** Everything one run measured. */
    static final class Report {
        String date;
        String machine;
        String loadBefore;
        String loadAfter;
        int records;
        int latencySeconds;
        final List<Result> throughput = new ArrayList<>();
        final List<Latency> latency = new ArrayList<>();
        final List<Result> instances = new ArrayList<>();
        Release release;
        boolean routerArchive;
        boolean complete;
        long benchHwmKb;
    }

    static String f0(double v) {
        return String.format(Locale.ROOT, "%,.0f", v);
    }

    static String f1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String f2(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }

    static void table(StringBuilder md, String[] headers, List<String[]> rows) {
        md.append("| ").append(String.join(" | ", headers)).append(" |\n");
        md.append("| --- |").append(" ---: |".repeat(headers.length - 1)).append("\n");
        for (String[] r : rows) {
            md.append("| ").append(String.join(" | ", r)).append(" |\n");
        }
        md.append("\n");
    }

    Result throughputOf(Report r, Kind k) {
        return r.throughput.stream().filter(x -> x.what().equals(k.label)).findFirst().orElseThrow();
    }

    Latency latencyOf(Report r, Kind k) {
        return r.latency.stream().filter(x -> x.what().equals(k.label)).findFirst().orElseThrow();
    }

    static String verdict(boolean met) {
        return met ? "met" : "NOT met";
    }

    /** The ratios the issue's targets name, from a complete run. */
    void targets(StringBuilder md, Report r) {
        Result router = throughputOf(r, Kind.ROUTER);
        Result streams = throughputOf(r, Kind.STREAMS_DEFAULTS);
        Result plain = throughputOf(r, Kind.PLAIN);
        Latency lr = latencyOf(r, Kind.ROUTER);
        Latency ls = latencyOf(r, Kind.STREAMS_DEFAULTS);
        md.append("## Targets (issue 11), from this run\n\n");
        List<String[]> targets = new ArrayList<>();
        double vsStreams = router.recordsPerSecond() / streams.recordsPerSecond();
        double vsPlain = router.recordsPerSecond() / plain.recordsPerSecond();
        targets.add(new String[]{"throughput vs Kafka Streams EOS-v2 (defaults)", "≥ 1.5×", f2(vsStreams) + "×", verdict(vsStreams >= 1.5)});
        targets.add(new String[]{"throughput vs the plain idempotent producer", "≥ 0.6×", f2(vsPlain) + "×", verdict(vsPlain >= 0.6)});
        targets.add(new String[]{"p99 at " + rate + " records/s vs Kafka Streams (defaults)", "≤ 1×", f2(lr.p99Ms() / ls.p99Ms()) + "× ("
                + f1(lr.p99Ms()) + " vs " + f1(ls.p99Ms()) + " ms)", verdict(lr.p99Ms() <= ls.p99Ms())});
        targets.add(new String[]{"p99 at " + rate + " records/s", "≤ 100 ms", f1(lr.p99Ms()) + " ms (" + f2(lr.p99Ms() / 100) + "× 100 ms)",
                verdict(lr.p99Ms() <= 100)});
        targets.add(new String[]{"broker CPU per record vs Kafka Streams (defaults)", "≤ 1×", f2(lr.brokerCpuMicrosPerRecord() / ls.brokerCpuMicrosPerRecord())
                + "× (" + f0(lr.brokerCpuMicrosPerRecord()) + " vs " + f0(ls.brokerCpuMicrosPerRecord()) + " µs)",
                verdict(lr.brokerCpuMicrosPerRecord() <= ls.brokerCpuMicrosPerRecord())});
        // every router process measured: throughput, latency and each instance of the instance runs
        long routerRss = Math.max(Math.max(router.peakRssKb(), lr.peakRssKb()), r.instances.stream().mapToLong(Result::peakRssKb).max().orElse(0));
        targets.add(new String[]{"router peak RSS (-Xmx256m)", "≤ 256 MB", mb(routerRss) + " MB (" + f2(mb(routerRss) / 256.0) + "×)",
                verdict(mb(routerRss) <= 256)});
        Result one = r.instances.get(0);
        Result last = r.instances.get(r.instances.size() - 1);
        targets.add(new String[]{"router instances (total throughput)", "reported; no loss, no duplicate",
                r.instances.stream().map(x -> x.instances() + ": " + f0(x.recordsPerSecond())).collect(Collectors.joining(", "))
                        + " records/s (" + f2(last.recordsPerSecond() / one.recordsPerSecond()) + "× with " + last.instances() + ")",
                "met (each id once)"});
        table(md, new String[]{"TARGET", "WANTED", "THIS RUN", "VERDICT"}, targets);

    }

    String markdown(Report r) {
        StringBuilder md = new StringBuilder();
        md.append("# Router benchmark, side by side\n\n");
        md.append("Date: ").append(r.date).append(".\n\n");
        md.append("Command (from the repository root):\n\n```\n").append(command()).append("\n```\n\n");
        md.append("Machine: ").append(r.machine).append(".\n");
        md.append("Load average (1, 5, 15 min; other work on the machine shares its cores): ").append(r.loadBefore)
                .append(" before the run, ").append(r.loadAfter).append(" after.\n\n");
        md.append("Router commit interval: ").append(routerIntervalArgs.isEmpty()
                ? "the router of this checkout has no commit-interval option (none of " + String.join(", ", ROUTER_COMMIT_INTERVAL_OPTIONS)
                        + "): it ran with its own transactions (one per poll); the second Kafka Streams run used commit.interval.ms="
                        + routerCommitIntervalMs + " (`--router-commit-interval-ms`), which is also Kafka Streams' default under exactly_once_v2"
                : "the router ran with `" + String.join(" ", routerIntervalArgs) + "`, the second Kafka Streams run with commit.interval.ms="
                        + routerCommitIntervalMs).append(".\n\n");

        if (!r.complete) {
            md.append(r.release == null && only.isEmpty() && contenders.isEmpty()
                    ? "**INCOMPLETE: the run is still going or stopped early; only the sections below were measured.**\n\n"
                    : "**PARTIAL RUN (`--only` or `--contenders`): no targets; only the sections below were measured.**\n\n");
        } else {
            targets(md, r);
        }
        Result plain = r.throughput.stream().filter(x -> x.what().equals(Kind.PLAIN.label)).findFirst().orElse(null);

        md.append(String.format(Locale.ROOT, "## Throughput: %,d records of %,d bytes, %d partitions%n%n", r.records, recordSize, partitions));
        List<String[]> rows = new ArrayList<>();
        for (Result x : r.throughput) {
            rows.add(new String[]{x.what(), String.valueOf(x.processes()), f1(x.seconds()), f1(x.startupSeconds()), f0(x.recordsPerSecond()),
                    f0(x.recordsPerSecondAfterStartup()),
                    x.runs() > 1 ? f0(x.slowest()) + "–" + f0(x.fastest()) : "-", f1(x.megabytesPerSecond()),
                    plain == null ? "-" : f2(x.recordsPerSecond() / plain.recordsPerSecond()), String.valueOf(x.transactions()),
                    x.transactions() == 0 ? "-" : f0((double) x.source().records() / x.transactions()), f1(x.cpuSeconds()), f1(x.brokerCpuSeconds()),
                    String.valueOf(mb(x.peakRssKb()))});
        }
        table(md, new String[]{"CONTENDER", "PROCESSES", "SECONDS", "TO FIRST COMMIT S", "RECORDS/S", "AFTER FIRST COMMIT", "RANGE", "MB/S", "× PLAIN", "TRANSACTIONS",
                "RECORDS/TXN", "CPU S", "BROKER CPU S", "PEAK RSS MB"}, rows);

        md.append(String.format(Locale.ROOT, "## Latency at a fixed %,d records/s for %d s%n%n", rate, r.latencySeconds));
        rows = new ArrayList<>();
        for (Latency x : r.latency) {
            rows.add(new String[]{x.what(), String.format(Locale.ROOT, "%,d", x.measured()), f1(x.p50Ms()), f1(x.p99Ms()), f1(x.maxMs()),
                    f1(x.transactionsPerSecond()), f1(x.brokerCpuSeconds()), f0(x.brokerCpuMicrosPerRecord()), f1(x.cpuSeconds()),
                    String.valueOf(mb(x.peakRssKb()))});
        }
        table(md, new String[]{"CONTENDER", "RECORDS MEASURED", "P50 MS", "P99 MS", "MAX MS", "TRANSACTIONS/S", "BROKER CPU S",
                "BROKER CPU µS/RECORD", "CONTENDER CPU S", "PEAK RSS MB"}, rows);

        md.append("## Router instances (same topic, one context each)\n\n");
        rows = new ArrayList<>();
        for (Result x : r.instances) {
            Result one = r.instances.get(0);
            rows.add(new String[]{String.valueOf(x.instances()), f1(x.seconds()), f0(x.recordsPerSecond()), f2(x.recordsPerSecond() / one.recordsPerSecond()),
                    String.valueOf(x.transactions()), String.valueOf(mb(x.peakRssKb())), "each id once"});
        }
        table(md, new String[]{"INSTANCES", "SECONDS", "RECORDS/S (TOTAL)", "× 1 INSTANCE", "TRANSACTIONS", "PEAK RSS MB (ONE)", "CHECK"}, rows);

        if (r.release != null) {
            md.append(String.format(Locale.ROOT, "## A release under load (%,d records/s)%n%n", rate));
            table(md, new String[]{"COMMAND", "SECONDS"}, List.of(
                    new String[]{"migration.java 0.5", f2(r.release.migrationSeconds())},
                    new String[]{"update_rate.java 0.9 --drain", f2(r.release.drainSeconds())},
                    new String[]{"promote.java", f2(r.release.promoteSeconds())}));
            md.append("Check: ").append(r.release.note()).append(".\n\n");
        }

        md.append("## Notes per run\n\n");
        for (Result x : r.throughput) {
            md.append("- throughput, ").append(x.what()).append(": ").append(x.note()).append(".\n");
        }
        for (Latency x : r.latency) {
            md.append("- latency, ").append(x.what()).append(": ").append(x.note()).append(".\n");
        }
        for (Result x : r.instances) {
            md.append("- ").append(x.instances()).append(x.instances() == 1 ? " instance: " : " instances: ").append(x.note()).append(".\n");
        }
        md.append(String.format(Locale.ROOT, "- The bench JVM (driver, load producer, latency reader, the release's commands; `-Xmx512m`) peaked at %d MB resident.%n%n",
                mb(r.benchHwmKb)));

        md.append("## How it is measured\n\n");
        md.append("- One single-node KRaft broker (`canary.platform.broker.LocalBroker`, `-Xmx1g`) runs as a child JVM of the bench; "
                + "BROKER CPU is its user + system CPU (`/proc/<pid>/stat`) over the run (throughput: from start to the last commit; latency: "
                + "the measured window only). The broker, the contenders and the bench share the machine's cores.\n");
        md.append("- Records: key `order-<id>`, value a JSON object `{\"id\":\"<id>\",\"sent\":<epoch µs>,\"pad\":\"...\"}` of " + recordSize
                + " bytes, record i on partition i mod " + partitions + ". Every contender copies values byte for byte, so the id and the "
                + "send time travel in the value.\n");
        md.append("- Contenders, each a child JVM (`-Xmx256m`) with its own consumer group and output topics, run one after the other: "
                + "the router (`canary.cli.RouterCommand`, routing prepared as `migration` does, share 0.5 `random`); a Kafka Streams 4.1.1 "
                + "`exactly_once_v2` application sending each record to one of two topics at random (`KStream.to` with a topic chooser; "
                + "its defaults, one stream thread; then `commit.interval.ms` = " + routerCommitIntervalMs + "); a plain consumer + idempotent "
                + "`acks=all` producer without transactions (offsets committed after a flush, at most every 100 ms; same random split): "
                + "the ceiling; `org.apache.kafka.tools.TransactionalMessageCopier` (kafka-tools 4.1.1, one JVM per partition, "
                + "`--use-group-metadata`, `--transaction-size " + transactionSize + "`, `--max-messages -1`): it ends when it has copied "
                + "up to the end offset of its partition, so it is measured on the filled topic only, not at a fixed rate. "
                + (r.routerArchive ? "The router's JVMs start from the class data sharing archive the kit makes after a router's first run "
                        + "(`SharedClasses`; made after the warm-up); the other contenders' JVMs start without one, as their users would.\n"
                        : "No contender's JVM had a class data sharing archive.\n"));
        md.append("- Throughput: the topic filled first (not timed), one router run not reported (warm-up), then each contender "
                + (runs == 1 ? "once" : runs + " times, taking turns (the table shows the median, RANGE the slowest and fastest)") + ": SECONDS from "
                + "starting its JVMs (its output topics and group prepared before) until its group's committed offsets reach the end of the "
                + "topic (JVM start-up included); TO FIRST COMMIT S "
                + "until its first committed offset; AFTER FIRST COMMIT all records over the time from the first committed offset to the end "
                + "(start-up and group join left out). The targets use RECORDS/S.\n");
        md.append("- Latency: each contender on a fresh topic, fed at " + rate + " records/s by a producer in the bench JVM (acks=all, "
                + "idempotent, linger.ms=1); once it has caught up with the records sent while it started (less than 1 s of records "
                + "behind; at most 2 minutes, the notes say which) and 5 s more, " + r.latencySeconds + " s are measured: the "
                + "latency of a record is the time a read_committed consumer in the bench JVM received it minus its send time in the value "
                + "(p50/p99 nearest rank, over every record sent in the window).\n");
        md.append("- TRANSACTIONS: committed transactions, counted as the transaction coordinator's CompleteCommit records in "
                + "`__transaction_state` for the contender's transactional ids within the window (the plain producer has none).\n");
        md.append("- PEAK RSS: the highest VmHWM of one of the contender's processes (`/proc/<pid>/status`, sampled every 100 ms).\n");
        md.append("- Exactly once: after every run, every output topic is read in full with read_committed; each id sent must be there "
                + "exactly once, or the bench stops with `EXACTLY-ONCE VIOLATED`. The release's check reads what the two dummy-service "
                + "versions processed.\n");
        md.append("- Router instances: N instances of one context started at once on the throughput topic; SECONDS until the router "
                + "group's committed offsets reach the end.\n");
        md.append("- Release: the dummy service as both versions (started by the kit), legacy on the topic under load, then "
                + "`migration 0.5`, `update_rate 0.9 --drain`, `promote`, " + (quick ? 5 : 15) + " s apart, each run in the bench JVM "
                + "through its picocli command as its script runs it (the script's JVM start is not included).\n");
        return md.toString();
    }

    String command() {
        List<String> parts = new ArrayList<>(List.of("./jbang", "bench/router_bench.java"));
        for (String a : args) {
            parts.add(a.matches("[A-Za-z0-9_./:=,%+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return String.join(" ", parts);
    }

    // ------------------------------------------------------------------ plumbing

    Properties clientProperties() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        return p;
    }

    void say(String line) {
        out.println(line);
        out.flush();
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    static boolean waitFor(Process p, Duration d) {
        try {
            return p.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Stops what this run started (once): the kit's processes, the other children, the broker last, and the temp folder. */
    synchronized void cleanUp(boolean deleteWork) {
        for (Processes p : kitProcesses) {
            for (String name : p.running()) {
                p.stop(name, Duration.ofSeconds(10));
            }
        }
        kitProcesses.clear();
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
            admin = null;
        }
        for (Process p : children) {
            if (p != broker) {
                p.destroyForcibly();
            }
        }
        if (broker != null) {
            stopGracefully(broker);
            broker = null;
        }
        children.clear();
        if (work != null && deleteWork) {
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        work = null;
    }
}
