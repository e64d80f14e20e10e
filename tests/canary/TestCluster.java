package canary;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;

import canary.common.Waits;
import canary.platform.Processes;
import canary.platform.broker.LocalBroker;

/**
 * A KRaft cluster of N nodes for the tests, each node a child JVM running {@link LocalBroker}'s main (broker and controller in
 * one process), so that a test can SIGKILL one and restart it. Three nodes make a replicated cluster: replication factor 3,
 * {@code min.insync.replicas} 2 as cluster defaults, the offsets and transaction state topics too. Data and logs live in a
 * temporary folder removed by {@link #close()}.
 *
 * <pre>
 * try (TestCluster c = TestCluster.start(3)) {
 *     int leader = c.leaderOf(new TopicPartition(topic, 0));
 *     c.kill9(leader);
 *     ...
 *     c.restart(leader);
 * }
 * </pre>
 */
final class TestCluster implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofMinutes(3);

    private final Path dir;
    private final LocalBroker.Quorum quorum;
    private final Map<Integer, Process> processes = new TreeMap<>();
    private final Thread cleanup;

    private TestCluster(Path dir, LocalBroker.Quorum quorum) {
        this.dir = dir;
        this.quorum = quorum;
        this.cleanup = new Thread(this::killAll, "test-cluster-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
    }

    /** Starts {@code n} nodes (ids 1..n) on free loopback ports and waits until all of them answer. */
    static TestCluster start(int n) {
        return start(n, false);
    }

    /**
     * Starts {@code n} nodes with SASL (SCRAM-SHA-512) and ACLs (the standard KRaft authorizer): {@link #clientProperties()}
     * are the super user's; {@link #clientProperties(String, String)} another principal's.
     */
    static TestCluster startSecured(int n) {
        return start(n, true);
    }

    private static TestCluster start(int n, boolean secured) {
        if ("quick".equals(System.getProperty("canary.tier"))) {
            throw new IllegalStateException("a test of the quick tier (tagged fast) asked for a cluster: tag it as a broker test instead");
        }
        List<LocalBroker.Node> nodes = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            nodes.add(new LocalBroker.Node(i, LocalBroker.freePort(), LocalBroker.freePort()));
        }
        TestCluster c;
        try {
            Path dir = Files.createTempDirectory("canary-test-cluster");
            LocalBroker.Quorum quorum = new LocalBroker.Quorum(nodes, LocalBroker.Quorum.newClusterId());
            if (secured) {
                Properties secrets = new Properties();
                secrets.setProperty("admin.password", canary.kafka.LeastPrivilege.newPassword());
                canary.kafka.LeastPrivilege.writePrivate(dir.resolve("secrets.properties"), secrets, "test cluster secrets");
                quorum = quorum.secured(dir.resolve("secrets.properties"));
            }
            c = new TestCluster(dir, quorum);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            for (LocalBroker.Node node : nodes) {
                c.launch(node.id());
            }
            c.awaitNodes(n);
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The ids of the nodes, 1..n. */
    List<Integer> nodeIds() {
        return quorum.nodes().stream().map(LocalBroker.Node::id).toList();
    }

    /** Every node's address. */
    String bootstrapServers() {
        return quorum.bootstrapServers();
    }

    /** The client properties of the cluster: on a secured cluster, the super user's. */
    Properties clientProperties() {
        Properties p = new Properties();
        if (quorum.secrets() != null) {
            p.putAll(LocalBroker.scramClient(LocalBroker.ADMIN, adminPassword()));
        }
        p.put("bootstrap.servers", bootstrapServers());
        return p;
    }

    /** The client properties of principal {@code user} on a secured cluster. */
    Properties clientProperties(String user, String password) {
        Properties p = LocalBroker.scramClient(user, password);
        p.put("bootstrap.servers", bootstrapServers());
        return p;
    }

    private String adminPassword() {
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(quorum.secrets())) {
            p.load(r);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("admin.password");
    }

    Admin admin() {
        return Admin.create(clientProperties());
    }

    /** The client port of node {@code nodeId}. */
    int port(int nodeId) {
        return quorum.node(nodeId).port();
    }

    /** Whether node {@code nodeId}'s process is alive. */
    boolean isAlive(int nodeId) {
        Process p = processes.get(nodeId);
        return p != null && p.isAlive();
    }

    /** Kills node {@code nodeId} with SIGKILL (no clean shutdown, no controlled leader move) and waits until it is gone. */
    void kill9(int nodeId) {
        Process p = processes.get(nodeId);
        if (p == null || !p.isAlive()) {
            throw new IllegalStateException("node " + nodeId + " does not run");
        }
        p.destroyForcibly();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("node " + nodeId + " (pid " + p.pid() + ") survived SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while killing node " + nodeId, e);
        }
    }

    /** Starts node {@code nodeId} again on its data and ports, and waits until the cluster sees it. */
    void restart(int nodeId) {
        if (isAlive(nodeId)) {
            throw new IllegalStateException("node " + nodeId + " still runs: kill9 it first");
        }
        launch(nodeId);
        try (Admin admin = admin()) {
            Waits.until("node " + nodeId + " is back in the cluster on " + bootstrapServers(), START_TIMEOUT, Waits.quiet(), () -> {
                checkAlive(nodeId);
                return liveNodes(admin).contains(nodeId);
            });
        }
    }

    /** The id of the broker leading {@code tp} now, as the cluster's metadata says (-1 when it has none). */
    int leaderOf(TopicPartition tp) {
        return leaders(tp.topic()).get(tp.partition());
    }

    /** The broker leading each partition of {@code topic} now, in one request (-1 for a partition without a leader). */
    List<Integer> leaders(String topic) {
        try (Admin admin = admin()) {
            TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS).get(topic);
            return d.partitions().stream().map(p -> p.leader() == null || p.leader().isEmpty() ? -1 : p.leader().id()).toList();
        } catch (Exception e) {
            throw new IllegalStateException("cannot find the leaders of " + topic + ": " + e.getMessage(), e);
        }
    }

    /** The last lines of node {@code nodeId}'s log, for a failing test's message. */
    String logTail(int nodeId) {
        try {
            List<String> lines = Files.readAllLines(log(nodeId));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Stops every node with SIGTERM (SIGKILL after 30 s) and deletes the data. */
    @Override
    public void close() {
        processes.values().forEach(Process::destroy);
        for (Process p : processes.values()) {
            try {
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
        try {
            Runtime.getRuntime().removeShutdownHook(cleanup);
        } catch (IllegalStateException e) {
            // the JVM is exiting: the hook runs anyway
        }
        deleteTree(dir);
    }

    // ------------------------------------------------------------------ plumbing

    private void launch(int nodeId) {
        List<String> argv = Processes.javaCommand(LocalBroker.class.getName(),
                LocalBroker.arguments(dir.resolve("node-" + nodeId), nodeId, quorum).toArray(String[]::new));
        try {
            Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log(nodeId).toFile())).start();
            processes.put(nodeId, p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start node " + nodeId, e);
        }
    }

    private Path log(int nodeId) {
        return dir.resolve("node-" + nodeId + ".log");
    }

    private void awaitNodes(int n) {
        try (Admin admin = admin()) {
            Waits.until(n + " nodes answer on " + bootstrapServers(), START_TIMEOUT, Waits.quiet(), () -> {
                nodeIds().forEach(this::checkAlive);
                return liveNodes(admin).size() == n;
            });
        }
    }

    private void checkAlive(int nodeId) {
        if (!isAlive(nodeId)) {
            throw new IllegalStateException("node " + nodeId + " exited:\n" + logTail(nodeId));
        }
    }

    private static List<Integer> liveNodes(Admin admin) {
        try {
            return admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).stream().map(Node::id).toList();
        } catch (Exception e) {
            return List.of();
        }
    }

    private void killAll() {
        processes.values().forEach(Process::destroyForcibly);
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary folder is harmless
        }
    }

    /**
     * A base port {@code p} such that {@code p .. p + count - 1} are all free now: for a context's {@code local.port} with
     * {@code local.brokers} 3 (ports p, p+2, p+4 and controller ports p+1, p+3, p+5).
     */
    static int freePortRange(int count) {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = LocalBroker.freePort();
            if (base + count > 65535) {
                continue;
            }
            boolean free = true;
            for (int i = 1; i < count && free; i++) {
                try (ServerSocket s = new ServerSocket(base + i, 1, java.net.InetAddress.getLoopbackAddress())) {
                    s.setReuseAddress(true);
                } catch (IOException e) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IllegalStateException("no " + count + " consecutive free ports found");
    }
}
