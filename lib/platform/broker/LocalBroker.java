package canary.platform.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

import canary.common.Waits;

/**
 * A single-node KRaft broker (broker and controller in one process) built from the
 * {@code org.apache.kafka:kafka_2.13} jars: the local platform of the kit and the broker of the tests.
 * Its storage is formatted on first start and reused afterwards.
 */
public final class LocalBroker implements AutoCloseable {

    private final KafkaRaftServer server;
    private final int port;

    private LocalBroker(KafkaRaftServer server, int port) {
        this.server = server;
        this.port = port;
    }

    /** Formats {@code dataDir} unless already formatted, starts the broker and waits until it answers. */
    public static LocalBroker start(Path dataDir, int port, int controllerPort, Duration timeout) {
        try {
            Files.createDirectories(dataDir);
            Path logDir = dataDir.resolve("kafka-logs");
            Path metadataDir = dataDir.resolve("metadata");
            Properties props = brokerProperties(logDir, metadataDir, port, controllerPort);
            if (!Files.exists(metadataDir.resolve("meta.properties"))) {
                format(logDir, metadataDir);
            }
            KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props), Time.SYSTEM);
            server.startup();
            LocalBroker broker = new LocalBroker(server, port);
            broker.awaitReady(timeout);
            return broker;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Properties brokerProperties(Path logDir, Path metadataDir, int port, int controllerPort) {
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", logDir.toString());
        p.put("metadata.log.dir", metadataDir.toString());
        p.put("auto.create.topics.enable", "false");
        p.put("num.partitions", "1");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "10");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "10");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("log.cleaner.backoff.ms", "1000");
        // A killed router's open transaction is aborted soon after its timeout, not ten seconds later.
        p.put("transaction.abort.timed.out.transaction.cleanup.interval.ms", "2000");
        return p;
    }

    private static void format(Path logDir, Path metadataDir) {
        try {
            new Formatter()
                    .setPrintStream(System.err)
                    .setNodeId(1)
                    .setClusterId(Uuid.randomUuid().toString())
                    .setDirectories(List.of(logDir.toString(), metadataDir.toString()))
                    .setMetadataLogDirectory(metadataDir.toString())
                    .setControllerListenerName("CONTROLLER")
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .setIgnoreFormatted(true)
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("cannot format the broker storage in " + metadataDir.getParent() + ": " + e.getMessage(), e);
        }
    }

    private void awaitReady(Duration timeout) {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        try (Admin admin = Admin.create(p)) {
            Waits.until("the local broker on " + bootstrapServers() + " answers", timeout, Waits.quiet(), () -> {
                try {
                    admin.describeCluster().nodes().get();
                    return true;
                } catch (Exception e) {
                    return false;
                }
            });
        }
    }

    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    @Override
    public void close() {
        server.shutdown();
        server.awaitShutdown();
    }

    /** A free TCP port on the loopback interface. */
    public static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs the broker as a background process of the local platform:
     * {@code LocalBroker <data-dir> <port> <controller-port>}. Stops cleanly on SIGTERM.
     */
    public static void main(String[] args) throws InterruptedException {
        if (args.length != 3) {
            System.err.println("usage: LocalBroker <data-dir> <port> <controller-port>");
            System.exit(2);
        }
        LocalBroker broker = start(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]), Duration.ofMinutes(2));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            broker.close();
            stopped.countDown();
        }, "broker-shutdown"));
        System.out.println("broker ready on " + broker.bootstrapServers());
        System.out.flush();
        stopped.await();
    }
}
