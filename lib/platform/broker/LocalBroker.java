package canary.platform.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;

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
 * A KRaft node (broker and controller in one process) built from the {@code org.apache.kafka:kafka_2.13} jars: the local
 * platform of the kit and the broker of the tests. One node alone is a single-node cluster; three nodes started with the
 * same {@link Quorum} form a replicated cluster (replication factor 3, {@code min.insync.replicas} 2 as cluster defaults).
 * Its storage is formatted on first start and reused afterwards.
 */
public final class LocalBroker implements AutoCloseable {

    /** One node of the cluster: its id (from 1), its client port and its controller port, all on 127.0.0.1. */
    public record Node(int id, int port, int controllerPort) {
        String voter() {
            return id + "@127.0.0.1:" + controllerPort;
        }

        String text() {
            return id + ":" + port + ":" + controllerPort;
        }

        static Node parse(String text) {
            String[] p = text.split(":");
            if (p.length != 3) {
                throw new IllegalArgumentException("a node is id:port:controller-port, not " + text);
            }
            return new Node(Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2]));
        }
    }

    /**
     * The nodes of a cluster and its id: every node of the cluster is started with the same quorum.
     *
     * @param secrets null for a cluster without security; else a properties file (mode 600) with {@code admin.password}: the
     *                nodes listen with SASL (SCRAM-SHA-512 for clients and between brokers, PLAIN between brokers and
     *                controllers), authorize with the standard KRaft authorizer (ACLs, nothing allowed without one), and
     *                {@code User:admin} is the super user, its SCRAM credential written when the storage is formatted
     */
    public record Quorum(List<Node> nodes, String clusterId, Path secrets) {
        public Quorum {
            nodes = List.copyOf(nodes);
        }

        public Quorum(List<Node> nodes, String clusterId) {
            this(nodes, clusterId, null);
        }

        /** This quorum with SASL and ACLs, the super user's password in {@code secretsFile}. */
        public Quorum secured(Path secretsFile) {
            return new Quorum(nodes, clusterId, secretsFile);
        }

        String adminPassword() {
            Properties p = new Properties();
            try (var r = Files.newBufferedReader(secrets)) {
                p.load(r);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the broker secrets " + secrets, e);
            }
            String pw = p.getProperty("admin.password");
            if (pw == null || pw.isBlank()) {
                throw new IllegalArgumentException(secrets + ": no admin.password");
            }
            return pw;
        }

        /** {@code n} nodes with ids 1..n: node i listens on {@code port + 2(i-1)} and {@code controllerPort + 2(i-1)}. */
        public static Quorum of(int n, int port, int controllerPort, String clusterId) {
            List<Node> nodes = new ArrayList<>();
            for (int i = 1; i <= n; i++) {
                nodes.add(new Node(i, port + 2 * (i - 1), controllerPort + 2 * (i - 1)));
            }
            return new Quorum(nodes, clusterId);
        }

        /** A fresh cluster id, as {@code kafka-storage random-uuid} makes one. */
        public static String newClusterId() {
            return Uuid.randomUuid().toString();
        }

        public Node node(int id) {
            return nodes.stream().filter(n -> n.id() == id).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no node " + id + " in " + text()));
        }

        public String bootstrapServers() {
            return nodes.stream().map(n -> "127.0.0.1:" + n.port()).collect(Collectors.joining(","));
        }

        /** Replication factor and {@code min.insync.replicas} of the cluster: 3 and 2 from three nodes on, else 1 and 1. */
        public int replicationFactor() {
            return Math.min(3, nodes.size());
        }

        public int minInsyncReplicas() {
            return replicationFactor() >= 3 ? 2 : 1;
        }

        String text() {
            return nodes.stream().map(Node::text).collect(Collectors.joining(","));
        }

        static Quorum parse(String text, String clusterId) {
            List<Node> nodes = new ArrayList<>();
            for (String n : text.split(",")) {
                nodes.add(Node.parse(n.strip()));
            }
            return new Quorum(nodes, clusterId);
        }
    }

    /** The super user of a secured cluster. */
    public static final String ADMIN = "admin";
    public static final String SCRAM = "SCRAM-SHA-512";

    private final KafkaRaftServer server;
    private final Node node;
    private final Properties adminClient;

    private LocalBroker(KafkaRaftServer server, Node node, Properties adminClient) {
        this.server = server;
        this.node = node;
        this.adminClient = adminClient;
    }

    /**
     * The client properties of a SCRAM-SHA-512 principal over SASL_PLAINTEXT (no bootstrap servers): what a client of a
     * secured local cluster adds to its properties.
     */
    public static Properties scramClient(String user, String password) {
        Properties p = new Properties();
        p.put("security.protocol", "SASL_PLAINTEXT");
        p.put("sasl.mechanism", SCRAM);
        p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user
                + "\" password=\"" + password + "\";");
        return p;
    }

    private static Properties adminClient(String password) {
        return scramClient(ADMIN, password);
    }

    /** A single-node cluster: formats {@code dataDir} unless already formatted, starts the broker and waits until it answers. */
    public static LocalBroker start(Path dataDir, int port, int controllerPort, Duration timeout) {
        return start(dataDir, 1, new Quorum(List.of(new Node(1, port, controllerPort)), null), timeout);
    }

    /**
     * Node {@code nodeId} of {@code quorum}: formats {@code dataDir} unless already formatted (with the quorum's cluster id, a
     * fresh one when it has none), starts it and waits until it answers, which for a node of several needs a majority of the
     * controllers up.
     */
    public static LocalBroker start(Path dataDir, int nodeId, Quorum quorum, Duration timeout) {
        try {
            Files.createDirectories(dataDir);
            Path logDir = dataDir.resolve("kafka-logs");
            Path metadataDir = dataDir.resolve("metadata");
            Properties props = brokerProperties(logDir, metadataDir, nodeId, quorum);
            if (!Files.exists(metadataDir.resolve("meta.properties"))) {
                format(logDir, metadataDir, nodeId, quorum.clusterId() != null ? quorum.clusterId() : Quorum.newClusterId(),
                        quorum.secrets() == null ? List.of() : List.of(SCRAM + "=[name=" + ADMIN + ",password=" + quorum.adminPassword() + "]"));
            }
            KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props), Time.SYSTEM);
            server.startup();
            LocalBroker broker = new LocalBroker(server, quorum.node(nodeId), quorum.secrets() == null ? null : adminClient(quorum.adminPassword()));
            broker.awaitReady(timeout);
            return broker;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Properties brokerProperties(Path logDir, Path metadataDir, int nodeId, Quorum quorum) {
        Node node = quorum.node(nodeId);
        String rf = String.valueOf(quorum.replicationFactor());
        String minIsr = String.valueOf(quorum.minInsyncReplicas());
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", String.valueOf(nodeId));
        p.put("controller.quorum.voters", quorum.nodes().stream().map(Node::voter).collect(Collectors.joining(",")));
        String listener = quorum.secrets() == null ? "PLAINTEXT" : "SASL_PLAINTEXT";
        p.put("listeners", listener + "://127.0.0.1:" + node.port() + ",CONTROLLER://127.0.0.1:" + node.controllerPort());
        p.put("advertised.listeners", listener + "://127.0.0.1:" + node.port());
        p.put("listener.security.protocol.map", listener + ":" + listener + ",CONTROLLER:" + listener);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", listener);
        if (quorum.secrets() != null) {
            String pw = quorum.adminPassword();
            // Clients and brokers authenticate with SCRAM (credentials in the cluster metadata, the super user's from the format);
            // brokers and controllers with PLAIN, whose users are in this configuration (SCRAM needs the metadata they serve).
            p.put("sasl.enabled.mechanisms", SCRAM);
            p.put("sasl.mechanism.inter.broker.protocol", SCRAM);
            p.put("listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required"
                    + " username=\"" + ADMIN + "\" password=\"" + pw + "\";");
            p.put("listener.name.controller.sasl.enabled.mechanisms", "PLAIN");
            p.put("sasl.mechanism.controller.protocol", "PLAIN");
            p.put("listener.name.controller.plain.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required"
                    + " username=\"" + ADMIN + "\" password=\"" + pw + "\" user_" + ADMIN + "=\"" + pw + "\";");
            p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
            p.put("super.users", "User:" + ADMIN);
            p.put("allow.everyone.if.no.acl.found", "false");
        }
        p.put("log.dirs", logDir.toString());
        p.put("metadata.log.dir", metadataDir.toString());
        p.put("auto.create.topics.enable", "false");
        p.put("num.partitions", "1");
        p.put("default.replication.factor", rf);
        p.put("min.insync.replicas", minIsr);
        p.put("offsets.topic.replication.factor", rf);
        p.put("offsets.topic.num.partitions", "10");
        p.put("transaction.state.log.replication.factor", rf);
        p.put("transaction.state.log.min.isr", minIsr);
        p.put("transaction.state.log.num.partitions", "10");
        p.put("share.coordinator.state.topic.replication.factor", rf);
        p.put("share.coordinator.state.topic.min.isr", minIsr);
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("log.cleaner.backoff.ms", "1000");
        // A killed router's open transaction is aborted soon after its timeout, not ten seconds later.
        p.put("transaction.abort.timed.out.transaction.cleanup.interval.ms", "2000");
        if (quorum.nodes().size() > 1) {
            // A restarted node takes its partitions' leadership back soon, as a production cluster does; a killed one leaves
            // the in-sync replicas after 10 s instead of 30, so that acks=all writes go on with the two others sooner.
            p.put("leader.imbalance.check.interval.seconds", "10");
            p.put("replica.lag.time.max.ms", "10000");
        }
        return p;
    }

    private static void format(Path logDir, Path metadataDir, int nodeId, String clusterId, List<String> scram) {
        try {
            new Formatter()
                    .setPrintStream(System.err)
                    .setNodeId(nodeId)
                    .setClusterId(clusterId)
                    .setDirectories(List.of(logDir.toString(), metadataDir.toString()))
                    .setMetadataLogDirectory(metadataDir.toString())
                    .setControllerListenerName("CONTROLLER")
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .setIgnoreFormatted(true)
                    .setScramArguments(scram)
                    .run();
        } catch (Exception e) {
            throw new IllegalStateException("cannot format the broker storage in " + metadataDir.getParent() + ": " + e.getMessage(), e);
        }
    }

    private void awaitReady(Duration timeout) {
        Properties p = new Properties();
        if (adminClient != null) {
            p.putAll(adminClient);
        }
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        try (Admin admin = Admin.create(p)) {
            Waits.until("the local broker on " + bootstrapServers() + " answers", timeout, Waits.quiet(), () -> {
                try {
                    return admin.describeCluster().nodes().get().stream().anyMatch(n -> n.id() == node.id());
                } catch (Exception e) {
                    return false;
                }
            });
        }
    }

    /** This node's address (a client finds the other nodes of its cluster from it). */
    public String bootstrapServers() {
        return "127.0.0.1:" + node.port();
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

    /** The arguments of {@link #main} for node {@code nodeId} of {@code quorum}. */
    public static List<String> arguments(Path dataDir, int nodeId, Quorum quorum) {
        List<String> args = new ArrayList<>(List.of(dataDir.toString(), "--node", String.valueOf(nodeId), "--quorum", quorum.text()));
        if (quorum.clusterId() != null) {
            args.addAll(List.of("--cluster-id", quorum.clusterId()));
        }
        if (quorum.secrets() != null) {
            args.addAll(List.of("--sasl", quorum.secrets().toString()));
        }
        return args;
    }

    /**
     * Runs a node as a background process of the local platform or of a test: {@code LocalBroker <data-dir> <port>
     * <controller-port>} (a single-node cluster), or {@code LocalBroker <data-dir> --node <id> --quorum
     * <id:port:controller-port,...> [--cluster-id <id>] [--sasl <secrets-file>]} (see {@link #arguments}). Stops cleanly on SIGTERM.
     */
    public static void main(String[] args) throws InterruptedException {
        LocalBroker broker;
        try {
            broker = fromArguments(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println("usage: LocalBroker <data-dir> <port> <controller-port>"
                    + " | LocalBroker <data-dir> --node <id> --quorum <id:port:controller-port,...> [--cluster-id <id>] [--sasl <secrets-file>]");
            System.exit(2);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        LocalBroker b = broker;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            b.close();
            stopped.countDown();
        }, "broker-shutdown"));
        System.out.println("broker " + broker.node.id() + " ready on " + broker.bootstrapServers());
        System.out.flush();
        stopped.await();
    }

    private static LocalBroker fromArguments(String[] args) {
        if (args.length == 3 && !args[1].startsWith("--")) {
            return start(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]), Duration.ofMinutes(2));
        }
        if (args.length < 5) {
            throw new IllegalArgumentException("missing arguments");
        }
        Integer nodeId = null;
        String quorum = null;
        String clusterId = null;
        Path secrets = null;
        for (int i = 1; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + args[i] + " needs a value");
            }
            switch (args[i]) {
                case "--node" -> nodeId = Integer.parseInt(args[i + 1]);
                case "--quorum" -> quorum = args[i + 1];
                case "--cluster-id" -> clusterId = args[i + 1];
                case "--sasl" -> secrets = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (nodeId == null || quorum == null) {
            throw new IllegalArgumentException("--node and --quorum are required");
        }
        Quorum q = Quorum.parse(quorum, clusterId);
        return start(Path.of(args[0]), nodeId, secrets == null ? q : q.secured(secrets), Duration.ofMinutes(3));
    }
}
