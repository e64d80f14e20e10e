///usr/bin/env jbang "$0" "$@" ; exit $?
//DESCRIPTION Measures the embedded router's throughput and memory next to Kafka's TransactionalMessageCopier on a local broker.
//JAVA 17+
//DEPS org.apache.kafka:kafka-tools:4.1.1
//SOURCES ../lib/Deps.java ../lib/platform/broker/*.java ../lib/demo/*.java
//JAVA_OPTIONS -Xmx512m

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
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
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.stream.Stream;

import canary.cli.Cli;
import canary.context.Context;
import canary.kafka.KafkaCluster;
import canary.platform.broker.LocalBroker;
import canary.release.MigrationState;
import canary.platform.Processes;
import canary.kafka.KafkaStateStore;
import canary.context.Routing;
import canary.release.Lag;
import canary.release.Operator;
import canary.common.Table;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A benchmark, run on demand (not a test): on a local single-node broker in this JVM, how fast the
 * embedded router (one instance, a child JVM) routes a topic next to Kafka's own exactly-once copier
 * {@code org.apache.kafka.tools.TransactionalMessageCopier} (one child JVM per partition, as the tool
 * copies one partition per process), and how much resident memory the router takes.
 *
 * <p>Both read the same records (the copier with a fresh consumer group), both commit their output and
 * the source offsets in Kafka transactions, both are timed from the start of their JVMs until their
 * group's committed offsets reach the end of the source topic. The children get the kit's heap
 * ({@link Processes#javaCommand}).
 */
@Command(name = "router_bench", mixinStandardHelpOptions = true,
        description = "Starts a local broker, fills a topic and measures the embedded router (records/s, MB/s, resident memory) "
                + "next to Kafka's TransactionalMessageCopier on the same records; prints a table and writes it to bench/results.md.",
        footer = {"", "Example:", "  ./jbang bench/router_bench.java --records 200000 --record-size 1024 --partitions 6"})
class router_bench implements Callable<Integer> {

    /** The router's max.poll.records (lib/Router.java): the most records one of its transactions holds. */
    static final int ROUTER_MAX_POLL_RECORDS = 2000;
    static final String COPIER = "org.apache.kafka.tools.TransactionalMessageCopier";
    static final Duration SAMPLE_EVERY = Duration.ofMillis(100);

    @Spec
    CommandSpec spec;

    @Option(names = "--records", defaultValue = "200000", paramLabel = "N", description = "records in the source topic (default ${DEFAULT-VALUE})")
    int records;

    @Option(names = "--record-size", defaultValue = "1024", paramLabel = "BYTES", description = "bytes of each record's value (default ${DEFAULT-VALUE})")
    int recordSize;

    @Option(names = "--partitions", defaultValue = "6", paramLabel = "N", description = "partitions of the source topic (default ${DEFAULT-VALUE})")
    int partitions;

    @Option(names = "--transaction-size", defaultValue = "" + ROUTER_MAX_POLL_RECORDS, paramLabel = "N",
            description = "the copier's records per transaction (default ${DEFAULT-VALUE}, the router's max.poll.records)")
    int transactionSize;

    @Option(names = "--runs", defaultValue = "3", paramLabel = "N",
            description = "measured runs of each case; the table shows the median run and the range of records/s (default ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--single-partition", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "also compare one router with one copier on a single-partition topic (default: yes; --no-single-partition skips it)")
    boolean singlePartition;

    @Option(names = "--timeout", defaultValue = "600", paramLabel = "SECONDS", description = "the longest one measured run may take (default ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--results", defaultValue = "bench/results.md", paramLabel = "FILE",
            description = "where to write the results as Markdown (default ${DEFAULT-VALUE})")
    Path results;

    private String[] args = new String[0];
    private String loadBefore = "";
    private PrintWriter out;
    private Path work;
    private LocalBroker broker;
    private Admin admin;
    private final List<Process> copiers = new ArrayList<>();
    private final List<Processes> routers = new ArrayList<>();

    public static void main(String[] args) {
        router_bench bench = new router_bench();
        bench.args = args;
        System.exit(Cli.commandLine(bench).execute(args));
    }

    /** One source topic and what was written to it. */
    record Source(String topic, int partitions, long records, long bytes, Map<Integer, Long> endOffsets) {
    }

    /** The outcome of one measured run. */
    record Result(String what, int processes, Source source, double seconds, double startupSeconds, long peakRssPerProcessKb,
                  long peakRssTotalKb, double cpuSeconds, long outputRecords, long markers, int outputsPerSourcePartition, String note,
                  int runs, double slowestRecordsPerSecond, double fastestRecordsPerSecond) {

        /** The run with the median time, with the range of rates and the highest memory over all the runs. */
        static Result median(List<Result> runs) {
            List<Result> byTime = runs.stream().sorted(Comparator.comparingDouble(Result::seconds)).toList();
            Result m = byTime.get((byTime.size() - 1) / 2);
            return new Result(m.what, m.processes, m.source, m.seconds, m.startupSeconds,
                    runs.stream().mapToLong(Result::peakRssPerProcessKb).max().orElse(0),
                    runs.stream().mapToLong(Result::peakRssTotalKb).max().orElse(0),
                    m.cpuSeconds, m.outputRecords, m.markers, m.outputsPerSourcePartition, m.note, runs.size(),
                    byTime.get(byTime.size() - 1).recordsPerSecond(), byTime.get(0).recordsPerSecond());
        }

        double recordsPerSecond() {
            return source.records() / seconds;
        }

        /** The rate once the processes had started and committed for the first time: JVM start-up and group join left out. */
        double recordsPerSecondAfterStartup() {
            return source.records() / (seconds - startupSeconds);
        }

        double megabytesPerSecond() {
            return source.bytes() / 1e6 / seconds;
        }

        /** Records of one source partition per transaction: each transaction leaves one commit marker per output partition it wrote. */
        double recordsPerTransaction() {
            return markers == 0 ? 0 : (double) outputRecords * outputsPerSourcePartition / markers;
        }
    }

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        if (records < 1 || recordSize < 0 || partitions < 1 || transactionSize < 1 || runs < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--records, --partitions, --transaction-size and --runs must be 1 or more, --record-size 0 or more");
        }
        Path resultsDir = results.toAbsolutePath().getParent();
        if (resultsDir == null || !Files.isDirectory(resultsDir)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "no folder for " + results
                    + ": run from the repository root or give --results");
        }
        work = Files.createTempDirectory("router-bench");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> cleanUp(true), "bench-cleanup"));
        boolean finished = false;
        try {
            say("machine: " + machine());
            loadBefore = loadAverage();
            say("local broker in " + work);
            broker = LocalBroker.start(work.resolve("broker"), LocalBroker.freePort(), LocalBroker.freePort(), Duration.ofMinutes(2));
            admin = Admin.create(clientProperties());
            List<Result> all = new ArrayList<>();

            List<Source> sources = new ArrayList<>();
            sources.add(fill("bench-orders-" + partitions + "p", partitions));
            if (singlePartition && partitions != 1) {
                sources.add(fill("bench-orders-1p", 1));
            }
            // The broker runs in this JVM: one router run, not reported, lets its JIT warm up before anything is measured.
            say("warm-up (not reported):");
            runRouter(sources.get(0), 0);
            for (Source src : sources) {
                // Router and copier alternate, so that a slow moment of the machine does not hit one of them only.
                List<Result> router = new ArrayList<>();
                List<Result> copier = new ArrayList<>();
                for (int run = 1; run <= runs; run++) {
                    router.add(runRouter(src, run));
                    copier.add(runCopiers(src, run));
                }
                all.add(Result.median(router));
                all.add(Result.median(copier));
            }
            long benchHwm = status(ProcessHandle.current().pid(), "VmHWM").orElse(0L);

            Table table = table(all);
            out.println();
            table.print(out);
            out.println();
            summary(all).forEach(out::println);
            out.println("bench JVM (local broker + driver, -Xmx512m) peak RSS: " + mb(benchHwm) + " MB");
            Files.writeString(results, markdown(all, benchHwm));
            say("results written to " + results);
            finished = true;
            return 0;
        } finally {
            if (!finished && work != null) {
                say("the broker data and the logs stay in " + work);
            }
            cleanUp(finished);
        }
    }

    // ------------------------------------------------------------------ data

    /** Creates {@code topic} and fills it with the records, spread evenly over the partitions (not timed). */
    Source fill(String topic, int parts) {
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
            for (int i = 0; i < records; i++) {
                byte[] key = ("order-" + i).getBytes(StandardCharsets.UTF_8);
                byte[] value = new byte[recordSize];
                // Random bytes from the printable ASCII range: incompressible enough, and the copier (which
                // reads and writes Strings) keeps them byte for byte, so both sides copy the same bytes.
                for (int b = 0; b < value.length; b++) {
                    value[b] = (byte) (33 + random.nextInt(94));
                }
                bytes += key.length + value.length;
                producer.send(new ProducerRecord<>(topic, i % parts, key, value));
            }
            producer.flush();
        }
        Map<Integer, Long> end = endOffsets(topic);
        say(String.format(Locale.ROOT, "filled %s: %,d records of %,d bytes in %d partitions (%.1f s, not timed)",
                topic, records, recordSize, parts, (System.nanoTime() - start) / 1e9));
        return new Source(topic, parts, records, bytes, end);
    }

    // ------------------------------------------------------------------ the router

    /**
     * One router run on {@code src}. Each run has its own context name (so its own router group and state
     * record) on the same topic; the derived topics are shared, so records are counted from where the
     * previous run left them.
     */
    Result runRouter(Source src, int run) throws IOException {
        String name = src.topic() + "-run" + run;
        Path dir = Files.createDirectories(work.resolve("ctx-" + name));
        Path ctxFile = dir.resolve("context.yaml");
        // The versions are never started here; the context only needs a command for each.
        Files.writeString(ctxFile, "name: " + name + "\n"
                + "topic: " + src.topic() + "\n"
                + "partitions: " + src.partitions() + "\n"
                + "platform: existing\n"
                + "state_dir: state\n"
                + "kafka:\n  bootstrap_servers: " + broker.bootstrapServers() + "\n"
                + "legacy:\n  group: " + name + "-v1\n  run: [\"true\"]\n"
                + "new:\n  group: " + name + "-v2\n  run: [\"true\"]\n");
        Context ctx = Context.load(ctxFile);
        Map<Integer, Long> start = new TreeMap<>();
        for (int p = 0; p < src.partitions(); p++) {
            start.put(p, 0L);
        }
        // Routing prepared as the migration does it: derived topics, router offsets at the start offsets, state ROUTING + run flag.
        try (KafkaCluster c = KafkaCluster.connect(clientProperties()); KafkaStateStore store = KafkaStateStore.of(ctx, clientProperties(), new Operator("bench", "localhost", "router_bench"), java.time.Clock.systemUTC())) {
            store.ensureExists();
            c.createTopic(ctx.legacyTopic(), src.partitions(), Map.of());
            c.createTopic(ctx.newTopic(), src.partitions(), Map.of());
            c.setOffsets(ctx.routerGroup(), ctx.topic(), start);
            store.write(-1, MigrationState.start(ctx.name(), Context.EngineKind.ROUTER, Routing.RANDOM, 0.5, start)
                    .withPhase(MigrationState.Phase.ROUTING).withRouterRunning(true), "router_bench");
        }
        Map<Integer, Long> legacyBefore = endOffsets(ctx.legacyTopic());
        Map<Integer, Long> newBefore = endOffsets(ctx.newTopic());
        Processes processes = new Processes(ctx.stateDir());
        routers.add(processes);
        String what = "router, " + src.partitions() + (src.partitions() == 1 ? " partition" : " partitions");
        say(what + (run == 0 ? ", warm-up" : ", run " + run + " of " + runs) + ": starting 1 instance");
        long t0 = System.nanoTime();
        long pid = processes.start("router-0", Processes.javaCommand("canary.cli.RouterCommand", ctxFile.toString(), "--instance", "0"),
                dir, Map.of()).pid();
        Watch w = watch(what, ctx.routerGroup(), src, t0, () -> ProcessHandle.of(pid).stream().toList(), () -> false);
        processes.stop("router-0", Duration.ofSeconds(15));

        long legacy = count(ctx.legacyTopic(), legacyBefore);
        long toNew = count(ctx.newTopic(), newBefore);
        long markers = Lag.total(endOffsets(ctx.legacyTopic())) - Lag.total(legacyBefore)
                + Lag.total(endOffsets(ctx.newTopic())) - Lag.total(newBefore) - legacy - toNew;
        check(what, src, legacy + toNew);
        String note = String.format(Locale.ROOT, "share 0.5 random: %,d legacy / %,d new", legacy, toNew);
        return w.result(what, 1, src, legacy + toNew, markers, 2, note);
    }

    // ------------------------------------------------------------------ the copier

    /** One copier run on {@code src}: its own consumer group and output topic, one process per partition. */
    Result runCopiers(Source src, int run) throws IOException {
        String output = src.topic() + "-copy-run" + run;
        String group = src.topic() + "-copier-run" + run;
        try (KafkaCluster c = KafkaCluster.connect(clientProperties())) {
            c.createTopic(output, src.partitions(), Map.of());
        }
        Path logs = Files.createDirectories(work.resolve("copier-logs"));
        String what = "TransactionalMessageCopier, " + src.partitions() + (src.partitions() == 1 ? " partition" : " partitions");
        say(what + ", run " + run + " of " + runs + ": starting " + src.partitions() + (src.partitions() == 1 ? " process" : " processes"));
        long t0 = System.nanoTime();
        List<Process> started = new ArrayList<>();
        for (int p = 0; p < src.partitions(); p++) {
            List<String> argv = Processes.javaCommand(COPIER,
                    "--broker-list", broker.bootstrapServers(),
                    "--input-topic", src.topic(), "--input-partition", String.valueOf(p),
                    "--output-topic", output,
                    "--consumer-group", group, "--use-group-metadata",
                    "--transactional-id", group + "-" + p,
                    "--transaction-size", String.valueOf(transactionSize),
                    "--max-messages", "-1");
            // It prints a JSON status line per poll: to a file, so that no pipe slows it down.
            Process proc = new ProcessBuilder(argv).redirectErrorStream(true)
                    .redirectOutput(logs.resolve(group + "-" + p + ".log").toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            started.add(proc);
            copiers.add(proc);
        }
        Supplier<List<ProcessHandle>> live = () -> started.stream().filter(Process::isAlive).map(Process::toHandle).toList();
        Supplier<Boolean> failed = () -> started.stream().anyMatch(pr -> !pr.isAlive() && pr.exitValue() != 0);
        Watch w = watch(what, group, src, t0, live, failed);
        for (int p = 0; p < started.size(); p++) {
            Process proc = started.get(p);
            if (!waitFor(proc, Duration.ofSeconds(30)) || proc.exitValue() != 0) {
                throw new IllegalStateException("the copier of partition " + p + " did not end cleanly"
                        + (proc.isAlive() ? "" : " (exit " + proc.exitValue() + ")") + "; see " + logs);
            }
        }
        long copied = count(output, Map.of());
        long markers = Lag.total(endOffsets(output)) - copied;
        check(what, src, copied);
        String note = "--transaction-size " + transactionSize + ", ended on its own (--max-messages -1)";
        return w.result(what, src.partitions(), src, copied, markers, 1, note);
    }

    static boolean waitFor(Process p, Duration d) {
        try {
            return p.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    // ------------------------------------------------------------------ measuring

    /** What was seen while a run ran: progress times, resident memory and CPU of its processes. */
    final class Watch {
        final long t0;
        long firstCommit = -1;
        long done = -1;
        long peakTotalKb;
        final Map<Long, Long> hwmKb = new HashMap<>();
        final Map<Long, Long> cpuTicks = new HashMap<>();

        Watch(long t0) {
            this.t0 = t0;
        }

        void sample(List<ProcessHandle> procs) {
            long total = 0;
            for (ProcessHandle h : procs) {
                for (ProcessHandle p : Stream.concat(Stream.of(h), h.descendants()).toList()) {
                    total += status(p.pid(), "VmRSS").orElse(0L);
                    status(p.pid(), "VmHWM").ifPresent(v -> hwmKb.merge(p.pid(), v, Math::max));
                    cpuTicks(p.pid()).ifPresent(v -> cpuTicks.merge(p.pid(), v, Math::max));
                }
            }
            peakTotalKb = Math.max(peakTotalKb, total);
        }

        Result result(String what, int processes, Source src, long outputRecords, long markers, int outputsPerPartition, String note) {
            double seconds = (done - t0) / 1e9;
            double startup = (firstCommit - t0) / 1e9;
            long peakPerProcess = hwmKb.values().stream().mapToLong(Long::longValue).max().orElse(0);
            double cpu = cpuTicks.values().stream().mapToLong(Long::longValue).sum() / (double) CLOCK_TICKS;
            Result r = new Result(what, processes, src, seconds, startup, peakPerProcess, peakTotalKb, cpu, outputRecords, markers,
                    outputsPerPartition, note, 1, 0, 0);
            say(String.format(Locale.ROOT, "%s: %,d records in %.1f s: %,.0f records/s, %.1f MB/s, peak RSS %d MB per process, CPU %.1f s",
                    what, src.records(), seconds, r.recordsPerSecond(), r.megabytesPerSecond(), mb(peakPerProcess), cpu));
            return r;
        }
    }

    /**
     * Samples every 100 ms until the group's committed offsets reach the end offsets of the source:
     * the time of the first commit, the time the last record was committed, memory and CPU.
     */
    Watch watch(String what, String group, Source src, long t0, Supplier<List<ProcessHandle>> procs, Supplier<Boolean> failed) {
        Watch w = new Watch(t0);
        long deadline = t0 + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        long lastSaid = t0;
        while (true) {
            w.sample(procs.get());
            Map<Integer, Long> committed = committedOffsets(group, src.topic());
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
                w.sample(procs.get());
                return w;
            }
            if (failed.get()) {
                throw new IllegalStateException(what + " failed before copying everything; see the logs under " + work);
            }
            if (procs.get().isEmpty() && now - t0 > TimeUnit.SECONDS.toNanos(30)) {
                throw new IllegalStateException(what + ": no process runs any more and " + (Lag.total(src.endOffsets()) - done)
                        + " records are not committed; see the logs under " + work);
            }
            if (now > deadline) {
                throw new IllegalStateException(what + " did not finish within " + timeoutSeconds + " s (" + done + " of "
                        + Lag.total(src.endOffsets()) + " offsets committed)");
            }
            if (now - lastSaid > TimeUnit.SECONDS.toNanos(5)) {
                say(String.format(Locale.ROOT, "  %s: %,d of %,d committed, %.0f s, RSS %d MB", what, done,
                        Lag.total(src.endOffsets()), (now - t0) / 1e9, mb(w.peakTotalKb)));
                lastSaid = now;
            }
            sleep(SAMPLE_EVERY);
        }
    }

    /** Committed offsets only (not pending transactional ones), so polling never waits on open transactions. */
    Map<Integer, Long> committedOffsets(String group, String topic) {
        try {
            Map<TopicPartition, OffsetAndMetadata> m = admin.listConsumerGroupOffsets(group, new ListConsumerGroupOffsetsOptions().requireStable(false))
                    .partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            Map<Integer, Long> out = new TreeMap<>();
            m.forEach((tp, om) -> {
                if (om != null && tp.topic().equals(topic)) {
                    out.put(tp.partition(), om.offset());
                }
            });
            return out;
        } catch (Exception e) {
            return Map.of();
        }
    }

    Map<Integer, Long> endOffsets(String topic) {
        try (KafkaCluster c = KafkaCluster.connect(clientProperties())) {
            return c.endOffsets(topic);
        }
    }

    /**
     * Records in a topic, read with read_committed (offsets also count commit markers). Read in a tight
     * loop: RecordCounter backs off between polls, which is right for lag but slow for a whole topic.
     */
    long count(String topic, Map<Integer, Long> from) {
        Map<Integer, Long> end = endOffsets(topic);
        Properties p = clientProperties();
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        List<TopicPartition> tps = end.keySet().stream().map(n -> new TopicPartition(topic, n)).toList();
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
        long n = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            c.assign(tps);
            for (TopicPartition tp : tps) {
                c.seek(tp, from.getOrDefault(tp.partition(), 0L));
            }
            while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp.partition()))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("counting the records of " + topic + " took over 5 minutes");
                }
                n += c.poll(Duration.ofMillis(500)).count();
            }
        }
        return n;
    }

    void check(String what, Source src, long outputRecords) {
        if (outputRecords != src.records()) {
            throw new IllegalStateException(what + ": " + outputRecords + " records in the output, expected " + src.records());
        }
    }

    // ------------------------------------------------------------------ /proc

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

    // ------------------------------------------------------------------ reporting

    static final String[] HEADERS = {"RUN", "PROCESSES", "PARTITIONS", "RECORDS", "SECONDS", "STARTUP S", "RECORDS/S", "MB/S",
            "RECORDS/S RANGE", "RECORDS/S AFTER STARTUP", "PEAK RSS/PROCESS MB", "PEAK RSS TOTAL MB", "CPU S", "RECORDS/TXN"};

    /** The figures of one run, the same cells for the terminal and for Markdown. */
    static String[] cells(Result r) {
        return new String[]{r.what(), String.valueOf(r.processes()), String.valueOf(r.source().partitions()),
                String.valueOf(r.source().records()), f1(r.seconds()), f1(r.startupSeconds()), f0(r.recordsPerSecond()),
                f1(r.megabytesPerSecond()), f0(r.slowestRecordsPerSecond()) + "-" + f0(r.fastestRecordsPerSecond()),
                f0(r.recordsPerSecondAfterStartup()), String.valueOf(mb(r.peakRssPerProcessKb())),
                String.valueOf(mb(r.peakRssTotalKb())), f1(r.cpuSeconds()), f0(r.recordsPerTransaction())};
    }

    static String f0(double v) {
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static String f1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    Table table(List<Result> all) {
        Table t = new Table(HEADERS);
        for (Result r : all) {
            t.row((Object[]) cells(r));
        }
        return t;
    }

    /** One line per partition count: the router against the copier, and the router's memory against the 300 MB target. */
    static List<String> summary(List<Result> all) {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i + 1 < all.size(); i += 2) {
            Result router = all.get(i);
            Result copier = all.get(i + 1);
            lines.add(String.format(Locale.ROOT, "%d %s, 1 router process vs %d copier %s: the router is %.1fx as fast "
                            + "(%.0f vs %.0f records/s; %.1fx after start-up); router peak RSS %d MB (target: under 300 MB).",
                    router.source().partitions(), router.source().partitions() == 1 ? "partition" : "partitions",
                    copier.processes(), copier.processes() == 1 ? "process" : "processes",
                    router.recordsPerSecond() / copier.recordsPerSecond(), router.recordsPerSecond(), copier.recordsPerSecond(),
                    router.recordsPerSecondAfterStartup() / copier.recordsPerSecondAfterStartup(), mb(router.peakRssPerProcessKb())));
        }
        return lines;
    }

    String markdown(List<Result> all, long benchHwmKb) {
        StringBuilder md = new StringBuilder();
        md.append("# Router benchmark\n\n");
        md.append("Date: ").append(LocalDate.now()).append(".\n\n");
        md.append("Command (from the repository root):\n\n```\n").append(command()).append("\n```\n\n");
        md.append("Machine: ").append(machine()).append(".\n");
        md.append("Load average (1, 5, 15 min; other work on the machine shares its cores): ").append(loadBefore)
                .append(" before the runs, ").append(loadAverage()).append(" after.\n\n");
        md.append(String.format(Locale.ROOT, "Data: %,d records per source topic, values of %,d random printable ASCII bytes, "
                + "string keys (`order-N`), spread evenly over the partitions. MB = 10^6 bytes of keys and values.%n%n", records, recordSize));
        md.append("## Figures\n\n");
        md.append("| ").append(String.join(" | ", HEADERS)).append(" |\n");
        md.append("| --- |").append(" ---: |".repeat(HEADERS.length - 1)).append("\n");
        for (Result r : all) {
            md.append("| ").append(String.join(" | ", cells(r))).append(" |\n");
        }
        md.append("\n");
        for (String line : summary(all)) {
            md.append("- ").append(line).append("\n");
        }
        md.append("\nNotes per run:\n\n");
        for (Result r : all) {
            md.append(String.format(Locale.ROOT, "- %s: %s; %,d records in the output (read with read_committed), %,d commit markers.%n",
                    r.what(), r.note(), r.outputRecords(), r.markers()));
        }
        md.append(String.format(Locale.ROOT, "- The bench JVM (local broker + driver, `-Xmx512m`) peaked at %d MB resident.%n", mb(benchHwmKb)));
        md.append("\n## How it is measured\n\n");
        md.append("- One single-node KRaft broker (`LocalBroker`) runs inside the bench JVM, on the same machine as the processes measured: "
                + "the broker, the router and the copiers share the cores.\n");
        md.append("- The source topics are filled before any run (not timed); then one router run, not reported, warms up the broker "
                + "(its JIT: it runs in the bench JVM). The router and the copier read the same records; "
                + "the copier with its own consumer group and its own output topic.\n");
        md.append("- Router: routing prepared as `migration` does (derived topics, router offsets at 0, state ROUTING with the run flag, "
                + "share 0.5, `random`), then ONE instance started as a child JVM "
                + "(`Processes.javaCommand(\"canary.cli.RouterCommand\", ctx, \"--instance\", \"0\")`, `-Xmx256m`).\n");
        md.append("- Copier: `org.apache.kafka.tools.TransactionalMessageCopier` from kafka-tools 4.1.1, one child JVM per partition "
                + "(it copies one input partition per process), all started at once, same `-Xmx256m`, `--use-group-metadata`, "
                + "`--transaction-size` as in the notes, `--max-messages -1` (copy to the end offset, then exit).\n");
        md.append("- Each case runs " + runs + (runs == 1 ? " time" : " times") + ", router and copier alternating; the table shows "
                + "the run with the median time (its CPU, records per transaction and notes too), RECORDS/S RANGE the slowest and fastest "
                + "runs, and the PEAK RSS columns the highest over all runs. Each router run has its own context (router group, state "
                + "record) on the same source topic; each copier run its own group and output topic.\n");
        md.append("- SECONDS: from starting the child JVMs until the group's committed offsets reach the end offsets of the source "
                + "(polled every 100 ms); JVM start-up is included. STARTUP S: until the first committed offset; "
                + "RECORDS/S AFTER STARTUP: all records over the time from the first committed offset to the end (start-up and "
                + "group join left out).\n");
        md.append("- PEAK RSS/PROCESS: the highest VmHWM of one process; PEAK RSS TOTAL: the highest sum of VmRSS over the run's processes "
                + "(`/proc/<pid>/status`, sampled every 100 ms). CPU S: user + system CPU of the run's processes (`/proc/<pid>/stat`).\n");
        md.append("- RECORDS/TXN: records of one source partition per transaction, from the commit markers in the output "
                + "(one marker per output partition a transaction wrote; the router writes two per source partition, legacy and new).\n");
        md.append("- The copier writes and reads keys and values as Strings and uses `batch.size=512`; the router copies bytes "
                + "and uses `batch.size=262144`, `linger.ms=5`, `max.poll.records=2000`.\n");
        md.append("\n## Reading the figures\n\n");
        md.append("- The copier is Kafka's tool for its system tests, used as shipped: its `batch.size=512` (on purpose, to have several "
                + "batches in flight per transaction) makes every 1 KiB record a produce batch of its own, and its String "
                + "(de)serialization costs CPU. It is the reference the router must match; it is not the ceiling of a tuned "
                + "exactly-once pipeline.\n");
        md.append("- With several partitions the copier needs one JVM per partition: on 2 cores their start-up (STARTUP S) and "
                + "their memory (PEAK RSS TOTAL) add up, where one router instance takes every partition.\n");
        md.append("- Runs of a few seconds are noisy on a shared 2-core machine (see RECORDS/S RANGE); compare the ratios, "
                + "and raise `--records` for longer runs.\n");
        return md.toString();
    }

    String command() {
        List<String> parts = new ArrayList<>(List.of("./jbang", "bench/router_bench.java"));
        for (String a : args) {
            parts.add(a.matches("[A-Za-z0-9_./:=,%+-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        }
        return String.join(" ", parts);
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

    // ------------------------------------------------------------------ plumbing

    Properties clientProperties() {
        Properties p = new Properties();
        p.put("bootstrap.servers", broker.bootstrapServers());
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

    /** Stops what this run started (once): children, broker, and the temp folder unless kept for a look at the logs. */
    synchronized void cleanUp(boolean deleteWork) {
        for (Process p : copiers) {
            p.destroyForcibly();
        }
        copiers.clear();
        for (Processes p : routers) {
            for (String name : p.running()) {
                p.stop(name, Duration.ofSeconds(10));
            }
        }
        routers.clear();
        if (admin != null) {
            admin.close(Duration.ofSeconds(2));
            admin = null;
        }
        if (broker != null) {
            broker.close();
            broker = null;
        }
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
