package canary;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongFunction;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Produces records with unique ids (JSON {"id": ...}, keyed by id unless told otherwise) to a topic, in the background at
 * a steady rate or synchronously, and remembers every id it produced, with the key and headers it gave it. The id ends
 * with the record's sequence number, so the order in which records of one partition were produced is known.
 */
final class TestProducer implements AutoCloseable {

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final String runId = UUID.randomUUID().toString().substring(0, 6);
    private final List<String> ids = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Map<String, Sent> sent = new HashMap<>();
    private LongFunction<String> keyOf = seq -> null;
    private LongFunction<Map<String, String>> headersOf = seq -> Map.of();
    private Thread background;
    private long seq;

    /** What was sent for one id: its sequence number, key and headers. */
    record Sent(long seq, String key, Map<String, String> headers) {
    }

    TestProducer(String topic) {
        this(topic, TestBroker.clientProperties());
    }

    /** A producer on another cluster: {@code client} are its client properties. */
    TestProducer(String topic, Properties client) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        this.topic = topic;
    }

    /** The key of record number {@code seq} (null: its id). */
    synchronized TestProducer keys(LongFunction<String> keyOf) {
        this.keyOf = keyOf;
        return this;
    }

    /** The headers of record number {@code seq} (name to UTF-8 value). */
    synchronized TestProducer headers(LongFunction<Map<String, String>> headersOf) {
        this.headersOf = headersOf;
        return this;
    }

    synchronized String next() {
        long n = seq++;
        String id = runId + "-" + n;
        String key = keyOf.apply(n) == null ? id : keyOf.apply(n);
        Map<String, String> headers = headersOf.apply(n);
        ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, key.getBytes(StandardCharsets.UTF_8),
                ("{\"id\":\"" + id + "\",\"amount\":" + (seq % 100) + "}").getBytes(StandardCharsets.UTF_8));
        headers.forEach((name, value) -> r.headers().add(name, value.getBytes(StandardCharsets.UTF_8)));
        producer.send(r);
        ids.add(id);
        sent.put(id, new Sent(n, key, Map.copyOf(headers)));
        return id;
    }

    /** What was sent for {@code id}. */
    synchronized Sent sent(String id) {
        Sent s = sent.get(id);
        if (s == null) {
            throw new IllegalArgumentException("never produced: " + id);
        }
        return s;
    }

    /** Produces {@code n} records now and waits until they are acknowledged. */
    void produce(int n) {
        for (int i = 0; i < n; i++) {
            next();
        }
        producer.flush();
    }

    /** Keeps producing about {@code perSecond} records a second until {@link #stop()}. */
    void startBackground(int perSecond) {
        background = new Thread(() -> {
            long every = 1_000_000_000L / perSecond;
            long nextAt = System.nanoTime();
            while (!stop.get()) {
                next();
                nextAt += every;
                long sleep = nextAt - System.nanoTime();
                if (sleep > 0) {
                    try {
                        Thread.sleep(sleep / 1_000_000, (int) (sleep % 1_000_000));
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }
        }, "test-producer");
        background.setDaemon(true);
        background.start();
    }

    /** Stops the background production; returns every id produced so far. */
    List<String> stop() throws InterruptedException {
        stop.set(true);
        if (background != null) {
            background.join(10_000);
        }
        producer.flush();
        return ids();
    }

    synchronized List<String> ids() {
        return List.copyOf(ids);
    }

    @Override
    public void close() {
        stop.set(true);
        producer.close();
    }
}
