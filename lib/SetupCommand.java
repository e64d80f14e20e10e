package canary;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "setup", mixinStandardHelpOptions = true,
        description = "Provisions the platform of the context. local: a single-node KRaft broker from the Kafka jars, the original "
                + "topic, the demo producer and the legacy version; existing: checks that Kafka answers and the topic exists. "
                + "Running it again reports what already runs.",
        footer = {"", "Example:", "  ./jbang setup.java services_examples/context.yaml"})
public final class SetupCommand extends ContextCommand {

    static final String BROKER = "broker";
    static final String PRODUCER = "producer";

    @Option(names = "--dry-run", description = "print what would be started or created, change nothing")
    boolean dryRun;

    @Override
    public Integer call() {
        Context ctx = context();
        PrintWriter out = out();
        long t0 = System.nanoTime();
        if (ctx.platform() == Context.Platform.CONFLUENT_CLOUD) {
            throw new UserException("platform confluent-cloud is not available in this version of the kit yet: "
                    + "use platform existing with a client properties file");
        }
        if (dryRun) {
            if (ctx.platform() == Context.Platform.LOCAL) {
                out.println("dry run: would start a KRaft broker on 127.0.0.1:" + ctx.local().port() + " (data under "
                        + ctx.stateDir().resolve("kafka") + "), create " + ctx.topic() + " with " + ctx.partitions() + " partitions"
                        + (ctx.local().producer() ? ", start the demo producer at " + ctx.local().producerRate() + " records/s" : "")
                        + " and start the legacy version (group " + ctx.legacy().group() + ") on " + ctx.topic());
            } else {
                out.println("dry run: would check that Kafka at " + ctx.kafka().describe() + " answers and that " + ctx.topic() + " exists");
            }
            return 0;
        }
        try (LocalLock lock = LocalLock.acquire(ctx.stateDir(), ctx.name(), "setup")) {
            Processes processes = new Processes(ctx.stateDir());
            if (ctx.platform() == Context.Platform.LOCAL) {
                if (processes.isRunning(BROKER)) {
                    out.println("broker already runs on 127.0.0.1:" + ctx.local().port());
                } else {
                    processes.start(BROKER, Processes.javaCommand("canary.LocalBroker", ctx.stateDir().resolve("kafka").toString(),
                            String.valueOf(ctx.local().port()), String.valueOf(ctx.local().controllerPort())), ctx.directory(), Map.of());
                    out.println("started a KRaft broker on 127.0.0.1:" + ctx.local().port() + " (log: "
                            + ctx.stateDir().resolve("logs").resolve(BROKER + ".log") + ")");
                }
            }
            try (Session s = new Session(ctx, "setup", out, timeout)) {
                awaitReachable(s.cluster, ctx, out);
                if (ctx.platform() == Context.Platform.LOCAL) {
                    out.println(s.cluster.createTopic(ctx.topic(), ctx.partitions(), Map.of())
                            ? "created topic " + ctx.topic() + " (" + ctx.partitions() + " partitions)"
                            : "topic " + ctx.topic() + " already exists (" + ctx.partitions() + " partitions)");
                    if (ctx.local().producer()) {
                        if (processes.isRunning(PRODUCER)) {
                            out.println("demo producer already runs");
                        } else {
                            processes.start(PRODUCER, Processes.javaCommand("canary.DemoProducer", ctx.file().toAbsolutePath().toString()),
                                    ctx.directory(), Map.of());
                            out.println("started the demo producer (" + ctx.local().producerRate() + " records/s to " + ctx.topic() + ")");
                        }
                    }
                    boolean migrating = s.store.read().map(st -> st.phase().active()).orElse(false);
                    if (migrating) {
                        out.println("a migration is active: the versions are managed by the migration scripts (see status)");
                    } else {
                        s.versions.start("legacy", ctx.topic(), timeout);
                    }
                } else {
                    int n = s.cluster.partitions(ctx.topic());
                    out.println("Kafka at " + ctx.kafka().describe() + " answers; topic " + ctx.topic() + " has " + n + " partitions");
                }
            }
        }
        out.println("setup done in " + Durations.format(Duration.ofNanos(System.nanoTime() - t0)));
        return 0;
    }

    private void awaitReachable(KafkaCluster cluster, Context ctx, PrintWriter out) {
        if (ctx.platform() == Context.Platform.LOCAL) {
            Waits.until("the broker on 127.0.0.1:" + ctx.local().port() + " answers", timeout, Waits.to(out), () -> {
                try {
                    cluster.checkReachable();
                    return true;
                } catch (UserException e) {
                    return false;
                }
            });
        } else {
            cluster.checkReachable();
        }
    }

    public static void main(String[] args) {
        Cli.main(new SetupCommand(), args);
    }
}
