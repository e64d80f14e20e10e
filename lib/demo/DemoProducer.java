package canary.demo;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

import canary.common.Logs;
import canary.common.UserException;
import canary.context.Context;
import canary.platform.Terraform;

/**
 * The demo producer of the local platform: JSON orders on the original topic at a steady rate.
 * Every record has an id unique across restarts ({@code <runId>-<seq>}), is keyed by its order id,
 * and carries two headers, so tests and {@code check_data} can follow each record end to end.
 * A plain idempotent producer with {@code acks=all}: the producers of a canary release are not ours
 * and must not need anything special.
 */
public final class DemoProducer implements AutoCloseable {

    public static final String SOURCE = "demo-producer";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

    private final KafkaProducer<String, String> producer;
    private final String topic;
    private final double rate;
    private final String runId;
    private final AtomicLong seq = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final CountDownLatch stopRequested = new CountDownLatch(1);
    private final CountDownLatch finished = new CountDownLatch(1);
    private volatile boolean closed;

    /**
     * @param rate records per second; 0 sends as fast as the producer accepts
     * @param runId a short string unique to this run of the producer; ids are {@code <runId>-<seq>}
     */
    public DemoProducer(Properties clientProps, String topic, double rate, String runId) {
        if (rate < 0) {
            throw new IllegalArgumentException("rate must be >= 0, got " + rate);
        }
        Properties p = new Properties();
        p.putAll(clientProps);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        // One request in flight per connection: with more, a produce request that reaches a partition
        // created a moment ago before its leader is ready fails with NOT_LEADER_OR_FOLLOWER while the
        // next request is appended, and the retry of the first then fails with OUT_OF_ORDER_SEQUENCE
        // until delivery.timeout.ms drops its records (KAFKA-14359 / KAFKA-15591, seen on 4.1.1).
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, SOURCE + "-" + runId);
        this.producer = new KafkaProducer<>(p);
        this.topic = topic;
        this.rate = rate;
        this.runId = runId;
    }

    /** A short random run id: 4 base-36 characters. */
    public static String newRunId() {
        StringBuilder s = new StringBuilder();
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int i = 0; i < 4; i++) {
            s.append(Character.forDigit(r.nextInt(36), 36));
        }
        return s.toString();
    }

    public String runId() {
        return runId;
    }

    /** Records handed to the producer so far. */
    public long sent() {
        return seq.get();
    }

    /** Records the broker refused after all retries. */
    public long failures() {
        return failures.get();
    }

    /** Sends {@code count} records and waits until the broker acknowledged each; returns their ids. */
    public List<String> produce(int count) {
        List<String> ids = new ArrayList<>(count);
        List<Future<RecordMetadata>> acks = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            ProducerRecord<String, String> r = next();
            ids.add(idOf(r));
            acks.add(producer.send(r));
        }
        producer.flush();
        for (Future<RecordMetadata> f : acks) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while producing", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("the broker refused a record of " + topic + ": " + e.getCause().getMessage(), e.getCause());
            }
        }
        return ids;
    }

    /** Sends at the configured rate until {@link #stop()}; then flushes and closes the producer. */
    public void run() {
        try {
            long startNanos = System.nanoTime();
            long sentHere = 0;
            while (stopRequested.getCount() > 0) {
                if (rate > 0) {
                    // Pace against the start so the average rate holds; waking early on stop().
                    long dueNanos = startNanos + (long) (sentHere / rate * 1e9);
                    long delay = dueNanos - System.nanoTime();
                    if (delay > 0 && stopRequested.await(delay, TimeUnit.NANOSECONDS)) {
                        break;
                    }
                }
                producer.send(next(), (md, e) -> {
                    if (e != null && failures.incrementAndGet() <= 10) {
                        System.err.println("demo producer: a record was not written to " + topic + ": " + e.getMessage());
                    }
                });
                sentHere++;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            close();
            finished.countDown();
        }
    }

    /** Asks {@link #run()} to finish; returns at once. */
    public void stop() {
        stopRequested.countDown();
    }

    /** Stops {@link #run()} and waits (bounded) until it flushed and closed the producer. */
    public boolean stopAndWait(Duration timeout) throws InterruptedException {
        stop();
        return finished.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            producer.close(CLOSE_TIMEOUT); // sends what is buffered, bounded by the timeout
        }
    }

    ProducerRecord<String, String> next() {
        long n = seq.incrementAndGet();
        String id = String.format(Locale.ROOT, "%s-%06d", runId, n);
        String orderId = String.format(Locale.ROOT, "order-%06d", n);
        ThreadLocalRandom r = ThreadLocalRandom.current();
        ObjectNode v = JSON.createObjectNode();
        v.put("id", id);
        v.put("order_id", orderId);
        v.put("item", "Item_" + r.nextInt(10));
        v.put("amount", r.nextInt(100, 100_000) / 100.0);
        v.put("created_at", Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
        ProducerRecord<String, String> rec = new ProducerRecord<>(topic, orderId, v.toString());
        rec.headers().add("source", SOURCE.getBytes(StandardCharsets.UTF_8));
        rec.headers().add("trace-id", UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
        return rec;
    }

    private static String idOf(ProducerRecord<String, String> r) {
        try {
            return JSON.readTree(r.value()).get("id").asText();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The local platform's producer process: {@code DemoProducer <context-file>}. Writes to the
     * context's topic at {@code local.producer_rate} until SIGTERM.
     */
    public static void main(String[] args) throws InterruptedException {
        Logs.quiet();
        if (args.length != 1) {
            System.err.println("usage: producer <context-file>");
            System.exit(UserException.BAD_INPUT);
        }
        DemoProducer producer;
        Context ctx;
        try {
            ctx = Context.load(Path.of(args[0]), Terraform.contextEnv(Path.of(args[0]), System::getenv));
            producer = new DemoProducer(ctx.kafka().clientPropertiesOfProcess(System::getenv), ctx.topic(), ctx.local().producerRate(), newRunId());
        } catch (UserException e) {
            System.err.println("producer: " + e.getMessage());
            System.exit(e.exitCode());
            return;
        }
        DemoProducer p = producer;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                p.stopAndWait(CLOSE_TIMEOUT.plusSeconds(5));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            System.out.println("demo producer " + p.runId() + " stopped after " + p.sent() + " records");
            System.out.flush();
        }, "producer-shutdown"));
        System.out.println("demo producer " + p.runId() + " writing to " + ctx.topic() + " on " + ctx.kafka().describe()
                + " at " + (ctx.local().producerRate() == 0 ? "full speed" : ctx.local().producerRate() + " records/s"));
        System.out.flush();
        p.run();
    }
}
