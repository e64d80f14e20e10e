package canary.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.common.Durations;
import canary.context.Context;
import canary.platform.LocalLock;
import canary.platform.Platform;

@Command(name = "setup", mixinStandardHelpOptions = true,
        description = "Provisions the platform of the context. local: a single-node KRaft broker from the Kafka jars, the original "
                + "topic, the demo producer and the legacy version; existing: checks that Kafka answers and the topic exists; "
                + "confluent-cloud: runs terraform init and apply on terraform/ (the terraform on the PATH, umask 077) with this "
                + "state folder's own Terraform state in <state_dir>/terraform/ (mode 600; resources named after the context), "
                + "writes the Kafka client properties and the ksqlDB endpoint and credentials from terraform output into the state "
                + "folder (mode 600, never printed), then starts the legacy version. Running it again reports what already runs and starts what should run and does not: during a release both versions and the router, after a promotion the new version, after a rollback the legacy one.",
        footer = {"", "confluent-cloud reads the Confluent Cloud API key from the environment: TF_VAR_confluent_cloud_api_key and "
                + "TF_VAR_confluent_cloud_api_secret (required; the key's owner needs OrganizationAdmin); TF_VAR_cloud, TF_VAR_region, "
                + "TF_VAR_ksqldb_csu (optional). apply takes 10 minutes or more. It writes <state_dir>/client.properties and <state_dir>/ksqldb.env (KSQLDB_ENDPOINT, KSQLDB_API_KEY, "
                + "KSQLDB_API_SECRET).",
                "", "Examples:", "  ./jbang setup.java services_examples/context.yaml",
                "  ./jbang setup.java services_examples/context-ksqldb.yaml --dry-run"})
public final class SetupCommand extends ProvisioningCommand {

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
        Platform platform = Platform.of(ctx, contextFile, terraformBinary, env, out);
        if (dryRun) {
            List<String> steps = platform.describeSetup();
            out.println("dry run: would " + steps.get(0));
            steps.subList(1, steps.size()).forEach(l -> out.println(l.startsWith("  ") ? l : "  " + l));
            return 0;
        }
        platform.checkSetup();
        canary.platform.ProcessNames.refuseOldProcesses(ctx.stateDir());
        try (LocalLock lock = LocalLock.acquire(ctx.stateDir(), ctx.name(), commandLine())) {
            ctx = platform.provision(out, timeout);
            try (Session s = wiring.open(ctx, commandLine(), out, err(), timeout)) {
                platform.populate(ctx, s.cluster, out);
                // What should run and does not (a crashed version, a stopped router) is started again.
                s.lifecycle.bringBack(platform.startsLegacy());
            }
            lock.succeeded();
        }
        out.println("setup done in " + Durations.format(Duration.ofNanos(System.nanoTime() - t0)));
        return 0;
    }

    public static void main(String[] args) {
        Cli.main(new SetupCommand(), args);
    }
}
