package canary.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.common.Durations;
import canary.common.UserException;
import canary.common.Waits;
import canary.context.Context;
import canary.context.Role;
import canary.kafka.KafkaCluster;
import canary.platform.LocalLock;
import canary.platform.Processes;
import canary.platform.Terraform;

@Command(name = "setup", mixinStandardHelpOptions = true,
        description = "Provisions the platform of the context. local: a single-node KRaft broker from the Kafka jars, the original "
                + "topic, the demo producer and the legacy version; existing: checks that Kafka answers and the topic exists; "
                + "confluent-cloud: runs terraform init and apply in terraform/ (the terraform on the PATH), writes the Kafka client "
                + "properties and the ksqlDB endpoint and credentials from terraform output into the state folder (mode 600, never "
                + "printed), then starts the legacy version. Running it again reports what already runs.",
        footer = {"", "confluent-cloud reads the Confluent Cloud API key from the environment: TF_VAR_confluent_cloud_api_key and "
                + "TF_VAR_confluent_cloud_api_secret (required); TF_VAR_cloud, TF_VAR_region, TF_VAR_ksqldb_csu, TF_VAR_name_prefix "
                + "(optional). It writes <state_dir>/client.properties and <state_dir>/ksqldb.env (KSQLDB_ENDPOINT, KSQLDB_API_KEY, "
                + "KSQLDB_API_SECRET).",
                "", "Examples:", "  ./jbang setup.java services_examples/context.yaml",
                "  ./jbang setup.java services_examples/context-ksqldb.yaml --dry-run"})
public final class SetupCommand extends ProvisioningCommand {

    public static final String BROKER = "broker";
    public static final String PRODUCER = "producer";
    /** The classes of the local platform's processes, compiled only into the scripts that start them (setup, demo). */
    static final String BROKER_CLASS = "canary.platform.broker.LocalBroker";
    static final String PRODUCER_CLASS = "canary.demo.DemoProducer";

    @Option(names = "--dry-run", description = "print what would be started or created, change nothing")
    boolean dryRun;

    public SetupCommand() {
        this(null, System::getenv);
    }

    /** @param terraformBinary the terraform to run, or null for -Dcanary.terraform or terraform on the PATH */
    public SetupCommand(Path terraformBinary, Function<String, String> env) {
        super(terraformBinary, env);
    }

    @Override
    public Integer call() {
        Context ctx = context();
        PrintWriter out = out();
        long t0 = System.nanoTime();
        if (ctx.platform() == Context.PlatformKind.CONFLUENT_CLOUD) {
            Terraform tf = new Terraform(Terraform.binary(terraformBinary), Terraform.directory(ctx), env, out);
            if (dryRun) {
                out.println("dry run: would provision Confluent Cloud with Terraform (credentials: " + tf.credentialsStatus() + "):");
                for (List<String> args : List.of(Terraform.initArgs(), Terraform.applyArgs(ctx), Terraform.outputArgs())) {
                    out.println("  " + tf.show(args));
                }
                out.println("  write the Kafka client properties (SASL_SSL, PLAIN with the Kafka API key) to "
                        + ctx.stateDir().resolve(Terraform.CLIENT_PROPERTIES) + " (mode 600)");
                out.println("  write the ksqlDB endpoint and credentials (" + String.join(", ", Terraform.KSQLDB_VARIABLES) + ") to "
                        + ctx.stateDir().resolve(Terraform.KSQLDB_ENV) + " (mode 600)");
                out.println("  check that Kafka answers and " + ctx.topic() + " exists, and start the legacy version (group "
                        + ctx.legacy().group() + ") on " + ctx.topic());
                return 0;
            }
            tf.requireCredentials();
            try (LocalLock lock = LocalLock.acquire(ctx.stateDir(), ctx.name(), "setup")) {
                tf.init();
                tf.apply(ctx);
                List<Path> written = Terraform.writeClientFiles(tf.outputs(), ctx.stateDir());
                out.println("wrote " + written.get(0) + " and " + written.get(1) + " (mode 600; secrets are not printed)");
            }
            ctx = Context.load(contextFile, Terraform.contextEnv(contextFile, env));
        }
        if (dryRun) {
            if (ctx.platform() == Context.PlatformKind.LOCAL) {
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
            if (ctx.platform() == Context.PlatformKind.LOCAL) {
                if (processes.isRunning(BROKER)) {
                    out.println("broker already runs on 127.0.0.1:" + ctx.local().port());
                } else {
                    processes.start(BROKER, Processes.javaCommand(BROKER_CLASS, ctx.stateDir().resolve("kafka").toString(),
                            String.valueOf(ctx.local().port()), String.valueOf(ctx.local().controllerPort())), ctx.directory(), Map.of());
                    out.println("started a KRaft broker on 127.0.0.1:" + ctx.local().port() + " (log: "
                            + ctx.stateDir().resolve("logs").resolve(BROKER + ".log") + ")");
                }
            }
            awaitReachable(ctx, out);
            try (Session s = wiring.open(ctx, commandLine(), out, timeout)) {
                if (ctx.platform() == Context.PlatformKind.LOCAL) {
                    out.println(s.cluster.createTopic(ctx.topic(), ctx.partitions(), Map.of())
                            ? "created topic " + ctx.topic() + " (" + ctx.partitions() + " partitions)"
                            : "topic " + ctx.topic() + " already exists (" + ctx.partitions() + " partitions)");
                    if (ctx.local().producer()) {
                        if (processes.isRunning(PRODUCER)) {
                            out.println("demo producer already runs");
                        } else {
                            processes.start(PRODUCER, Processes.javaCommand(PRODUCER_CLASS, ctx.file().toAbsolutePath().toString()),
                                    ctx.directory(), Map.of());
                            out.println("started the demo producer (" + ctx.local().producerRate() + " records/s to " + ctx.topic() + ")");
                        }
                    }
                    boolean migrating = s.store.read().map(st -> st.phase().active()).orElse(false);
                    if (migrating) {
                        out.println("a migration is active: the versions are managed by the migration scripts (see status)");
                    } else {
                        s.versions.start(Role.LEGACY, ctx.topic(), timeout);
                    }
                } else {
                    int n = s.cluster.partitions(ctx.topic());
                    out.println("Kafka at " + ctx.kafka().describe() + " answers; topic " + ctx.topic() + " has " + n + " partitions");
                    if (ctx.platform() == Context.PlatformKind.CONFLUENT_CLOUD) {
                        boolean migrating = s.store.read().map(st -> st.phase().active()).orElse(false);
                        if (migrating) {
                            out.println("a migration is active: the versions are managed by the migration scripts (see status)");
                        } else {
                            s.versions.start(Role.LEGACY, ctx.topic(), timeout);
                        }
                    }
                }
            }
        }
        out.println("setup done in " + Durations.format(Duration.ofNanos(System.nanoTime() - t0)));
        return 0;
    }

    /** The local broker just started takes a few seconds to answer; elsewhere the session's own check says it. */
    private void awaitReachable(Context ctx, PrintWriter out) {
        if (ctx.platform() != Context.PlatformKind.LOCAL) {
            return;
        }
        try (KafkaCluster cluster = KafkaCluster.connect(ctx.kafka().clientProperties())) {
            Waits.until("the broker on 127.0.0.1:" + ctx.local().port() + " answers", timeout, Waits.to(out), () -> {
                try {
                    cluster.checkReachable();
                    return true;
                } catch (UserException e) {
                    return false;
                }
            });
        }
    }

    public static void main(String[] args) {
        Cli.main(new SetupCommand(), args);
    }
}
