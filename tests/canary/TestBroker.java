package canary;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;

import canary.platform.broker.LocalBroker;

/**
 * The real KRaft broker of the test suite: one in-process broker for the whole test JVM (started on
 * first use, stopped at exit). Tests isolate themselves with unique topic and group names.
 */
final class TestBroker {

    private static LocalBroker broker;
    private static final AtomicInteger COUNTER = new AtomicInteger();

    private TestBroker() {
    }

    static synchronized String bootstrapServers() {
        if ("quick".equals(System.getProperty("canary.tier"))) {
            throw new IllegalStateException("a test of the quick tier (tagged fast) asked for the broker: tag it as a broker test instead");
        }
        if (broker == null) {
            try {
                Path dir = Files.createTempDirectory("canary-test-broker");
                broker = LocalBroker.start(dir, LocalBroker.freePort(), LocalBroker.freePort(), Duration.ofMinutes(2));
                LocalBroker b = broker;
                Runtime.getRuntime().addShutdownHook(new Thread(b::close));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return broker.bootstrapServers();
    }

    static Properties clientProperties() {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrapServers());
        return p;
    }

    static Admin admin() {
        return Admin.create(clientProperties());
    }

    /** A name no other test uses: {@code prefix-N-xxxx}. */
    static String unique(String prefix) {
        return prefix + "-" + COUNTER.incrementAndGet() + "-" + UUID.randomUUID().toString().substring(0, 6);
    }
}
