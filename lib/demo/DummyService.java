package canary.demo;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

import canary.common.Durations;
import canary.common.Logs;
import canary.common.UserException;
import canary.context.Context;
import canary.platform.Terraform;

/**
 * The dummy service: one version of the service being released. It consumes a topic with its own
 * group ({@code read_committed}, no auto-commit), "processes" each record by appending
 * {@code topic<TAB>partition<TAB>offset<TAB>id<TAB>epoch-millis} to an output file (the last field: when it was
 * processed, so that tests can tell which version processed a partition when), flushes, and only then commits
 * the batch. On stop (or SIGTERM) it finishes the batch in hand, commits it and leaves the group, so
 * a graceful stop never makes the next run process a record twice.
 */
public final class DummyService {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(60);

    private final Properties consumerProps;
    private final String group;
    private final String topic;
    private final Path outputFile;
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile KafkaConsumer<byte[], byte[]> consumer;
    private volatile boolean stopping;
    private volatile long processed;
    private Duration slowness = Duration.ZERO;

    public DummyService(Properties clientProps, String group, String topic, Path outputFile) {
        Properties p = new Properties();
        p.putAll(clientProps);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // A killed instance's partitions go to the next one after 10 s instead of the default 45 s.
        p.putIfAbsent(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "10000");
        p.putIfAbsent(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "2000");
        // Partitions the router adds to a derived topic during a release show within seconds (the default is 5 minutes).
        p.putIfAbsent(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "5000");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, group + "-" + ProcessHandle.current().pid());
        this.consumerProps = p;
        this.group = group;
        this.topic = topic;
        this.outputFile = outputFile;
    }

    /**
     * A slow version: after each batch it waits this long before committing and polling again, as a service busy with real work
     * would (tests use it to give a version a backlog when records change version).
     */
    public DummyService slow(Duration perBatch) {
        this.slowness = perBatch;
        return this;
    }

    /** One line of a service's output file: a record it processed, and when (epoch milliseconds; -1 in files without the time). */
    public record Processed(String topic, int partition, long offset, String id, long at) {
        public Processed(String topic, int partition, long offset, String id) {
            this(topic, partition, offset, id, -1);
        }
    }

    /** Records processed by this instance so far. */
    public long processed() {
        return processed;
    }

    public Path outputFile() {
        return outputFile;
    }

    /**
     * Consumes until {@link #stop()}: process a batch, flush the output, commit the batch. Returns
     * once the last batch is committed and the consumer has left the group.
     */
    public void run() {
        try {
            Files.createDirectories(outputFile.toAbsolutePath().getParent());
        } catch (IOException e) {
            finished.countDown();
            throw new UncheckedIOException("cannot create the folder of " + outputFile, e);
        }
        try {
            dropTornLine(outputFile);
        } catch (IOException e) {
            finished.countDown();
            throw new UncheckedIOException("cannot repair " + outputFile, e);
        }
        try (BufferedWriter out = Files.newBufferedWriter(outputFile, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
             KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps)) {
            consumer = c;
            if (stopping) {
                return;
            }
            c.subscribe(List.of(topic));
            while (!stopping) {
                ConsumerRecords<byte[], byte[]> batch;
                try {
                    batch = c.poll(POLL);
                } catch (WakeupException e) {
                    break;
                }
                if (batch.isEmpty()) {
                    continue;
                }
                Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
                long at = System.currentTimeMillis();
                for (ConsumerRecord<byte[], byte[]> r : batch) {
                    out.write(r.topic() + '\t' + r.partition() + '\t' + r.offset() + '\t' + idOf(r.value()) + '\t' + at + '\n');
                    next.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                out.flush();
                processed += batch.count();
                if (!slowness.isZero() && !stopping) {
                    try {
                        Thread.sleep(slowness.toMillis());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                commit(c, next);
            }
            // Leaving the try closes the consumer, which leaves the group; the writer is flushed.
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + outputFile, e);
        } finally {
            consumer = null;
            finished.countDown();
        }
    }

    /** Commits a processed batch, even when a stop request's wake-up lands in the commit. */
    private void commit(KafkaConsumer<byte[], byte[]> c, Map<TopicPartition, OffsetAndMetadata> offsets) {
        try {
            try {
                c.commitSync(offsets);
            } catch (WakeupException e) {
                // The wake-up of stop() arrived while the batch was processed; the flag is now
                // cleared, so this commit goes through.
                c.commitSync(offsets);
            }
        } catch (CommitFailedException e) {
            // The group moved on (this member was too slow); the new owner reprocesses the batch.
            System.err.println("dummy service " + group + ": commit failed, the batch will be processed again: " + e.getMessage());
        }
    }

    /** Asks {@link #run()} to finish the batch in hand, commit it and leave the group; returns at once. */
    public synchronized void stop() {
        if (stopping) {
            return; // a second wake-up could interrupt the final commit
        }
        stopping = true;
        KafkaConsumer<byte[], byte[]> c = consumer;
        if (c != null) {
            c.wakeup();
        }
    }

    /** Stops and waits (bounded) until {@link #run()} has returned. */
    public boolean stopAndWait(Duration timeout) throws InterruptedException {
        stop();
        return finished.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    public static String idOf(byte[] value) {
        if (value == null) {
            return "-";
        }
        try {
            JsonNode v = JSON.readTree(value);
            JsonNode id = v == null ? null : v.get("id");
            if (id == null || id.isNull() || id.isContainerNode()) {
                return "-";
            }
            String s = id.asText().replaceAll("[\\t\\r\\n]", " ");
            return s.isEmpty() ? "-" : s;
        } catch (IOException e) {
            return "-";
        }
    }

    /**
     * Drops a last line without its newline: a write cut short when the previous process was killed. Its batch was never
     * committed, so the records come again; appending after it would glue the next line to it.
     */
    public static void dropTornLine(Path file) throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            long keep = size;
            ByteBuffer one = ByteBuffer.allocate(1);
            while (keep > 0) {
                one.clear();
                ch.read(one, keep - 1);
                if (one.get(0) == '\n') {
                    break;
                }
                keep--;
            }
            if (keep < size) {
                ch.truncate(keep);
            }
        }
    }

    /**
     * Reads a service's output file back. A missing file is an empty list; a last line without its
     * newline (a write cut short by a kill) is ignored; any other malformed line is an error.
     */
    public static List<Processed> readProcessed(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        List<Processed> out = new ArrayList<>();
        int lineNo = 0;
        int from = 0;
        for (int nl = text.indexOf('\n'); nl >= 0; from = nl + 1, nl = text.indexOf('\n', from)) {
            lineNo++;
            String line = text.substring(from, nl);
            String[] f = line.split("\t", -1);
            try {
                if (f.length != 4 && f.length != 5) {
                    throw new NumberFormatException("expected 4 or 5 tab-separated fields");
                }
                out.add(new Processed(f[0], Integer.parseInt(f[1]), Long.parseLong(f[2]), f[3], f.length == 5 ? Long.parseLong(f[4]) : -1));
            } catch (NumberFormatException e) {
                throw new IllegalStateException(file + ": line " + lineNo + " is not topic, partition, offset, id[, time]: " + line);
            }
        }
        return out;
    }

    /** The output file of {@code service} under a state folder. */
    public static Path outputFile(Path stateDir, String service) {
        return stateDir.resolve("processed").resolve(service + ".tsv");
    }

    /**
     * The dummy service process: {@code DummyService <context-file> <service> <topic> [<pause after each batch>]}; consumes
     * {@code topic} with group {@code service} until SIGTERM, writing
     * {@code <state>/processed/<service>.tsv}.
     */
    public static void main(String[] args) {
        Logs.quiet();
        if (args.length != 3 && args.length != 4) {
            System.err.println("usage: dummy_service <context-file> <service> <topic> [<pause after each batch, e.g. 1s>]");
            System.exit(UserException.BAD_INPUT);
        }
        String service = args[1];
        String topic = args[2];
        DummyService s;
        try {
            Context ctx = Context.load(Path.of(args[0]), Terraform.contextEnv(Path.of(args[0]), System::getenv));
            s = new DummyService(ctx.kafka().clientPropertiesOfProcess(System::getenv), service, topic, outputFile(ctx.stateDir(), service));
            if (args.length == 4) {
                try {
                    s.slow(Durations.parse(args[3]));
                } catch (IllegalArgumentException e) {
                    throw new UserException("dummy_service: the pause after each batch: " + e.getMessage());
                }
            }
        } catch (UserException e) {
            System.err.println("dummy_service: " + e.getMessage());
            System.exit(e.exitCode());
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                if (!s.stopAndWait(STOP_TIMEOUT)) {
                    System.err.println("dummy service " + service + ": the last batch did not finish within " + Durations.format(STOP_TIMEOUT));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            System.out.println("dummy service " + service + " stopped after " + s.processed() + " records");
            System.out.flush();
        }, "service-shutdown"));
        System.out.println("dummy service " + service + " consuming " + topic + " into " + s.outputFile());
        System.out.flush();
        try {
            s.run();
        } catch (RuntimeException e) {
            if (s.stopping) {
                return; // the JVM is shutting down already; System.exit would block
            }
            System.err.println("dummy service " + service + " failed: " + e);
            System.exit(1);
        }
    }
}
