package canary;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Produces records with unique ids (JSON {"id": ...}, keyed by id) to a topic, in the background at
 * a steady rate or synchronously, and remembers every id it produced.
 */
final class TestProducer implements AutoCloseable {

    private final KafkaProducer<byte[], byte[]> producer;
    private final String topic;
    private final String runId = UUID.randomUUID().toString().substring(0, 6);
    private final List<String> ids = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private Thread background;
    private long seq;

    TestProducer(String topic) {
        Properties p = TestBroker.clientProperties();
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
        this.topic = topic;
    }

    synchronized String next() {
        String id = runId + "-" + (seq++);
        producer.send(new ProducerRecord<>(topic, id.getBytes(StandardCharsets.UTF_8),
                ("{\"id\":\"" + id + "\",\"amount\":" + (seq % 100) + "}").getBytes(StandardCharsets.UTF_8)));
        ids.add(id);
        return id;
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
