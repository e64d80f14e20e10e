package canary.cli;

import java.io.Console;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Function;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.common.UserException;
import canary.context.Context;
import canary.kafka.KafkaCluster;
import canary.platform.LocalLock;
import canary.platform.LocalPlatform;
import canary.platform.Platform;
import canary.platform.Processes;
import canary.platform.StateDir;

@Command(name = "teardown", mixinStandardHelpOptions = true,
        description = "Stops every process the kit started, removes the routing topics and the state of the migration, and deletes "
                + "the state folder (for the local platform: the broker and all its data). The original topic of an existing "
                + "cluster is never deleted. confluent-cloud: then runs terraform destroy -auto-approve in terraform/ (the same "
                + "TF_VAR_confluent_cloud_api_key and TF_VAR_confluent_cloud_api_secret as setup), which deletes the whole "
                + "environment. Asks for confirmation on a terminal; --yes otherwise.",
        footer = {"", "Example:", "  ./jbang teardown.java services_examples/context.yaml --yes"})
public final class TeardownCommand extends ProvisioningCommand {

    @Option(names = {"-y", "--yes"}, description = "do not ask for confirmation")
    boolean yes;

    @Option(names = "--dry-run", description = "print what would be stopped and deleted, change nothing")
    boolean dryRun;

    public TeardownCommand() {
        this(null, System::getenv);
    }

    /** @param terraformBinary the terraform to run, or null for -Dcanary.terraform or terraform on the PATH */
    public TeardownCommand(Path terraformBinary, Function<String, String> env) {
        super(terraformBinary, env);
    }

    @Override
    public Integer call() {
        Context ctx = context();
        PrintWriter out = out();
        StateDir.checkDeletable(ctx.stateDir(), ctx.directory());
        Processes processes = new Processes(ctx.stateDir());
        List<String> running = processes.running();
        Platform platform = Platform.of(ctx, contextFile, terraformBinary, env, out);
        String destroy = platform.describeTeardown();
        String what = "stop " + (running.isEmpty() ? "no process" : String.join(", ", running))
                + (platform.clusterGoesAway() ? "" : ", delete " + ctx.legacyTopic() + ", " + ctx.newTopic() + " and " + ctx.stateTopic())
                + (destroy == null ? "" : ", " + destroy)
                + " and delete what the kit wrote in " + ctx.stateDir() + " (the folder too when nothing else is left)";
        if (dryRun) {
            out.println("dry run: would " + what);
            return 0;
        }
        if (!yes) {
            Console console = System.console();
            if (console == null) {
                throw new UserException("teardown deletes things and no terminal is attached to confirm: add --yes");
            }
            String answer = console.readLine("teardown will %s. Type 'yes' to go on: ", what);
            if (answer == null || !answer.trim().equalsIgnoreCase("yes")) {
                out.println("teardown cancelled: nothing changed");
                return 1;
            }
        }
        platform.checkTeardown();
        try (LocalLock lock = LocalLock.acquire(ctx.stateDir(), ctx.name(), commandLine())) {
            if (!platform.clusterGoesAway()) {
                removeFromCluster(ctx, out, destroy != null);
            }
            stop(out, processes, running);
        }
        platform.destroy(out);
        if (StateDir.delete(ctx.stateDir(), ctx.directory())) {
            out.println("deleted " + ctx.stateDir());
        } else {
            out.println("deleted what the kit wrote in " + ctx.stateDir() + "; kept the folder, which holds files the kit did not write");
        }
        out.println("teardown done");
        return 0;
    }

    /** The routing resources, the derived topics and the state topic; the original topic stays. */
    private void removeFromCluster(Context ctx, PrintWriter out, boolean destroyFollows) {
        try (Session s = wiring.open(ctx, commandLine(), out, err(), timeout);
             KafkaCluster cluster = KafkaCluster.connect(ctx.kafka().clientProperties())) {
            s.store.read().ifPresent(st -> s.engine.remove(st, timeout));
            List<String> deleted = cluster.deleteTopics(List.of(ctx.legacyTopic(), ctx.newTopic(), ctx.stateTopic()));
            if (!deleted.isEmpty()) {
                out.println("deleted topics " + String.join(", ", deleted));
            }
        } catch (RuntimeException e) {
            UserException known = Cli.explain(e);
            if (!destroyFollows || known == null) {
                throw e;
            }
            out.println("skipping the cleanup inside the cluster (" + known.getMessage() + "): the platform's teardown removes it all");
        }
    }

    /** Services first, the broker last: they need it to leave their groups cleanly. */
    private static void stop(PrintWriter out, Processes processes, List<String> running) {
        List<String> order = new ArrayList<>(running);
        order.sort(Comparator.comparing(n -> n.equals(LocalPlatform.BROKER) ? 1 : 0));
        for (String name : order) {
            processes.stop(name, Duration.ofSeconds(20));
            out.println("stopped " + name);
        }
    }

    public static void main(String[] args) {
        Cli.main(new TeardownCommand(), args);
    }
}
