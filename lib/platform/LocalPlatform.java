package canary.platform;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.IntStream;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AclBinding;

import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.context.Role;
import canary.kafka.KafkaCluster;
import canary.kafka.LeastPrivilege;
import canary.release.Cluster;

/**
 * A KRaft cluster started on this host from the Kafka jars (one broker, or three for a replicated cluster: each its own
 * process), the original topic and the demo producer, as background processes under the state folder. The broker and the producer run
 * classes that only setup and demo compile (lib/platform/broker, lib/demo), named here by class name.
 */
public final class LocalPlatform implements Platform {

    public static final String BROKER = ProcessNames.BROKER;
    static final String BROKER_CLASS = "canary.platform.broker.LocalBroker";
    static final String PRODUCER_CLASS = "canary.demo.DemoProducer";

    private final Context ctx;
    private final Processes processes;

    public LocalPlatform(Context ctx, Processes processes) {
        this.ctx = ctx;
        this.processes = processes;
    }

    /**
     * The process names of the brokers: {@code broker} for a single broker (as before there were several), {@code broker-1} to
     * {@code broker-n} for a replicated cluster.
     */
    public static List<String> brokerNames(int brokers) {
        return brokers == 1 ? List.of(BROKER) : IntStream.rangeClosed(1, brokers).mapToObj(i -> BROKER + "-" + i).toList();
    }

    /** Whether a recorded process is a broker of the local platform. */
    public static boolean isBroker(String processName) {
        return processName.equals(BROKER) || processName.matches(BROKER + "-\\d+");
    }

    /** Whether a broker of the local platform runs (the cluster may answer). */
    public static boolean brokerRuns(Context ctx, Processes processes) {
        return brokerNames(ctx.local().brokers()).stream().anyMatch(processes::isRunning);
    }

    /** The local brokers and whether each runs, for status: {@code broker-1 pid 123, broker-2 pid 124, broker-3 not running}. */
    public static String describeBrokers(Context ctx, Processes processes) {
        return String.join(", ", brokerNames(ctx.local().brokers()).stream()
                .map(n -> n + processes.pid(n).filter(p -> processes.isRunning(n)).map(p -> " pid " + p).orElse(" not running")).toList())
                + " on " + ctx.local().bootstrapServers();
    }

    private String describeBrokers() {
        int n = ctx.local().brokers();
        return n == 1 ? "a KRaft broker on " + ctx.local().bootstrapServers()
                : n + " KRaft brokers on " + ctx.local().bootstrapServers() + " (replication factor 3, min.insync.replicas 2)";
    }

    @Override
    public List<String> describeSetup() {
        return List.of("start " + describeBrokers() + " (data under " + ctx.stateDir().resolve("kafka") + ")",
                "create " + ctx.topic() + " with " + ctx.partitions() + " partitions"
                        + (ctx.local().producer() ? " and start the demo producer at " + ctx.local().producerRate() + " records/s" : ""),
                "start the legacy version (group " + ctx.legacy().group() + ") on " + ctx.topic());
    }

    @Override
    public Context provision(PrintWriter out, Duration timeout) {
        int n = ctx.local().brokers();
        boolean sasl = ctx.local().security() == Context.Security.SASL;
        List<String> names = brokerNames(n);
        String clusterId = n == 1 && !sasl ? null : clusterId();
        Path secrets = sasl ? secrets() : null;
        for (int i = 1; i <= n; i++) {
            String name = names.get(i - 1);
            String where = "127.0.0.1:" + ctx.local().ports().get(i - 1);
            if (processes.isRunning(name)) {
                out.println(name + " already runs on " + where);
                continue;
            }
            Path data = n == 1 ? ctx.stateDir().resolve("kafka") : ctx.stateDir().resolve("kafka").resolve(name);
            List<String> argv = n == 1 && !sasl
                    ? Processes.javaCommand(BROKER_CLASS, data.toString(), String.valueOf(ctx.local().port()), String.valueOf(ctx.local().controllerPort()))
                    : Processes.javaCommand(BROKER_CLASS, brokerArguments(ctx.local(), data, i, clusterId, secrets));
            processes.start(name, argv, ctx.directory(), Map.of());
            out.println("started " + (n == 1 ? "a KRaft broker" : "KRaft " + name) + " on " + where + (sasl ? " with SASL and ACLs" : "")
                    + " (log: " + processes.logFile(name) + ")");
        }
        // A broker just started takes a few seconds to answer; a replicated cluster answers once a majority runs.
        Properties client = sasl ? superUser() : ctx.kafka().clientProperties();
        try (KafkaCluster cluster = KafkaCluster.connect(client)) {
            Waits.until(n == 1 ? "the broker on " + ctx.local().bootstrapServers() + " answers"
                    : "the " + n + " brokers on " + ctx.local().bootstrapServers() + " answer", timeout, Waits.to(out), () -> {
                for (String name : names) {
                    if (!processes.isRunning(name)) {
                        throw new UserException(UserException.ENVIRONMENT, name + " stopped while starting: " + lastError(processes.logFile(name))
                                + " (log: " + processes.logFile(name) + ")");
                    }
                }
                try {
                    cluster.checkReachable(Duration.ofSeconds(5));
                    return cluster.brokerCount() >= n;
                } catch (UserException e) {
                    return false;
                }
            });
            if (sasl) {
                principals(cluster.admin(), out);
            }
        }
        return ctx;
    }

    /** The last ERROR line of a broker's log (else its last line): why it stopped, in one line. */
    static String lastError(java.nio.file.Path log) {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(log);
            for (int i = lines.size() - 1; i >= 0; i--) {
                if (lines.get(i).contains("ERROR")) {
                    return lines.get(i).strip();
                }
            }
            return lines.isEmpty() ? "its log is empty" : lines.get(lines.size() - 1).strip();
        } catch (java.io.IOException | RuntimeException e) {
            return "no log to read (" + e.getMessage() + ")";
        }
    }

    /**
     * The principals of a secured local cluster, made with the super user: the kit's (commands and router), one per version
     * and the demo producer's, each with exactly the ACLs of {@link LeastPrivilege}, each with its client properties file
     * (mode 600) under the state folder. Passwords are made once and kept in the broker secrets, so a re-run changes nothing.
     */
    private void principals(Admin admin, PrintWriter out) {
        Properties secrets = readSecrets();
        List<String> written = new ArrayList<>();
        record Principal(String user, Path file, List<AclBinding> acls) {
        }
        List<Principal> all = new ArrayList<>();
        all.add(new Principal(LeastPrivilege.KIT, ctx.kafka().propertiesFile().orElse(ctx.clientsDir().resolve("kit.properties")), LeastPrivilege.kit(ctx)));
        all.add(new Principal(LeastPrivilege.PRODUCER, producerProperties(), LeastPrivilege.producer(ctx)));
        for (Role r : Role.values()) {
            Context.Service s = ctx.service(r);
            all.add(new Principal(LeastPrivilege.versionPrincipal(s), s.kafkaProperties().orElse(ctx.clientsDir().resolve(s.group() + ".properties")),
                    LeastPrivilege.version(ctx, r)));
        }
        for (Principal p : all) {
            String password = secrets.getProperty("user." + p.user());
            if (password == null) {
                password = LeastPrivilege.newPassword();
                secrets.setProperty("user." + p.user(), password);
                LeastPrivilege.writePrivate(secretsFile(), secrets, "secrets of the local cluster: its super user and its principals");
            }
            LeastPrivilege.upsertUser(admin, p.user(), password);
            LeastPrivilege.grant(admin, p.acls());
            Properties props = LeastPrivilege.scramClient(p.user(), password);
            props.setProperty("bootstrap.servers", ctx.local().bootstrapServers());
            LeastPrivilege.writePrivate(p.file(), props, "User:" + p.user() + " on the local cluster of context " + ctx.name());
            written.add("User:" + p.user() + " (" + p.acls().size() + " ACLs, " + p.file() + ")");
        }
        out.println("principals " + String.join(", ", written) + "; super user User:" + ADMIN + " in " + superUserFile());
    }

    /** The demo producer's client properties (its own principal on a secured local cluster). */
    private Path producerProperties() {
        return ctx.clientsDir().resolve("producer.properties");
    }

    /** The super user's client properties: setup's, and the operator's own for the secured local cluster. */
    private Properties superUser() {
        Properties p = LeastPrivilege.scramClient(ADMIN, readSecrets().getProperty("admin.password"));
        p.setProperty("bootstrap.servers", ctx.local().bootstrapServers());
        LeastPrivilege.writePrivate(superUserFile(), p, "User:" + ADMIN + ", the super user of the local cluster of context " + ctx.name());
        return p;
    }

    private Path superUserFile() {
        return ctx.clientsDir().resolve(ADMIN + ".properties");
    }

    private Path secretsFile() {
        return ctx.stateDir().resolve("kafka").resolve("secrets.properties");
    }

    /** The brokers' secrets file (mode 600), with a fresh super user password on first setup. */
    private Path secrets() {
        if (!Files.exists(secretsFile())) {
            Properties p = new Properties();
            p.setProperty("admin.password", LeastPrivilege.newPassword());
            LeastPrivilege.writePrivate(secretsFile(), p, "secrets of the local cluster: its super user and its principals");
        }
        return secretsFile();
    }

    private Properties readSecrets() {
        Properties p = new Properties();
        try (var r = Files.newBufferedReader(secrets())) {
            p.load(r);
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot read " + secretsFile() + ": " + e.getMessage());
        }
        return p;
    }

    /** The super user of a secured local cluster ({@code LocalBroker.ADMIN}: the broker package is not compiled by every script). */
    static final String ADMIN = "admin";

    /**
     * The arguments of {@code LocalBroker} for node {@code id} of the local cluster: {@code <data-dir> --node <id> --quorum
     * <id:port:controller-port,...> --cluster-id <id>} (node i on {@code port + 2(i-1)}, {@code controller_port + 2(i-1)}).
     */
    static String[] brokerArguments(Context.Local local, Path dataDir, int id, String clusterId, Path secrets) {
        List<String> quorum = new ArrayList<>();
        for (int i = 1; i <= local.brokers(); i++) {
            quorum.add(i + ":" + (local.port() + 2 * (i - 1)) + ":" + (local.controllerPort() + 2 * (i - 1)));
        }
        List<String> args = new ArrayList<>(List.of(dataDir.toString(), "--node", String.valueOf(id), "--quorum", String.join(",", quorum),
                "--cluster-id", clusterId));
        if (secrets != null) {
            args.addAll(List.of("--sasl", secrets.toAbsolutePath().toString()));
        }
        return args.toArray(String[]::new);
    }

    /** The cluster id of a replicated local cluster: made on first setup, kept in the state folder so that a re-run reuses it. */
    private String clusterId() {
        Path file = ctx.stateDir().resolve("kafka").resolve("cluster-id");
        try {
            if (Files.exists(file)) {
                return Files.readString(file).strip();
            }
            Files.createDirectories(file.getParent());
            String id = Uuid.randomUuid().toString();
            Files.writeString(file, id + "\n");
            return id;
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot keep the cluster id in " + file + ": " + e.getMessage());
        }
    }

    @Override
    public void populate(Context c, Cluster cluster, PrintWriter out) {
        if (c.local().security() == Context.Security.SASL) {
            // the kit's principal may only read the original topic: the platform's super user creates it
            try (KafkaCluster admin = KafkaCluster.connect(superUser())) {
                createTopic(c, admin, out);
            }
        } else {
            createTopic(c, cluster, out);
        }
        if (c.local().producer()) {
            if (processes.isRunning(ProcessNames.producer(c))) {
                out.println("demo producer already runs");
            } else {
                Map<String, String> env = c.local().security() == Context.Security.SASL
                        ? Map.of(Context.KAFKA_PROPERTIES_ENV, producerProperties().toAbsolutePath().toString()) : Map.of();
                processes.start(ProcessNames.producer(c), Processes.javaCommand(PRODUCER_CLASS, c.file().toAbsolutePath().toString()), c.directory(), env, true);
                out.println("started the demo producer (" + c.local().producerRate() + " records/s to " + c.topic() + ")");
            }
        }
    }

    private static void createTopic(Context c, Cluster cluster, PrintWriter out) {
        out.println(cluster.createTopic(c.topic(), c.partitions(), Map.of())
                ? "created topic " + c.topic() + " (" + c.partitions() + " partitions)"
                : "topic " + c.topic() + " already exists (" + c.partitions() + " partitions)");
    }

    @Override
    public boolean startsLegacy() {
        return true;
    }

    @Override
    public String describeTeardown() {
        return null;
    }

    @Override
    public boolean clusterGoesAway() {
        return true;
    }

    @Override
    public void destroy(PrintWriter out) {
        // the broker is one of the kit's processes: teardown stopped it, and its data goes with the state folder
    }
}
