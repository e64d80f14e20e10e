package canary.cli;

import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.common.UserException;
import canary.context.Context;
import canary.kafka.KafkaCluster;
import canary.platform.LocalLock;
import canary.platform.LocalPlatform;
import canary.platform.Platform;
import canary.platform.ProcessNames;
import canary.platform.Processes;
import canary.platform.StateDir;
import canary.release.Lifecycle;
import canary.release.MigrationState;

@Command(name = "teardown", mixinStandardHelpOptions = true,
        description = "Stops every process the kit started, removes the routing topics and the state of the migration, and deletes "
                + "the state folder (for the local platform: the broker and all its data). The original topic of an existing "
                + "cluster is never deleted. confluent-cloud: then runs terraform init and destroy -auto-approve on the state folder's "
                + "own Terraform state (<state_dir>/terraform/; the same TF_VAR_confluent_cloud_api_key and "
                + "TF_VAR_confluent_cloud_api_secret as setup), which deletes the environment setup made for this context and "
                + "nothing else; init runs before anything is stopped. When a later release of the topic (another context on the same topic) took it over, deletes only "
                + "this context's state: what runs for the topic is that release's, and its teardown removes it. Asks for "
                + "confirmation on a terminal; --yes otherwise.",
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
        Platform platform = Platform.of(ctx, contextFile, terraformBinary, env, out);
        String destroy = platform.describeTeardown();
        Releases releases = releases(ctx, platform, processes);
        if (!releases.later().isEmpty()) {
            return forget(ctx, out, releases.later());
        }
        List<String> running = processes.running();
        // Another context's processes or files in the state folder: it shares the folder (and, local, the broker), which stay.
        List<String> sharers = StateDir.namesIn(ctx.stateDir()).stream()
                .filter(n -> ProcessNames.anyContexts(n) && !ProcessNames.ownedBy(n, ctx, releases.earlier().keySet())).toList();
        boolean shared = !sharers.isEmpty();
        if (shared) {
            running = running.stream().filter(n -> ProcessNames.ownedBy(n, ctx, releases.earlier().keySet()) || ProcessNames.old(n)).toList();
        }
        boolean clusterStays = !platform.clusterGoesAway() || shared;
        String what = "stop " + (running.isEmpty() ? "no process" : String.join(", ", running))
                + (clusterStays ? ", delete " + ctx.legacyTopic() + ", " + ctx.newTopic() + " and " + ctx.stateTopic() : "")
                + (releases.earlier().isEmpty() ? "" : " (with the state of the earlier release(s) of " + ctx.topic() + ": "
                        + Lifecycle.describe(releases.earlier()) + ")")
                + (destroy == null ? "" : ", " + destroy)
                + (shared ? " and delete this context's files in " + ctx.stateDir() + " (other contexts use the folder"
                        + (platform.clusterGoesAway() ? " and its broker" : "") + ": " + String.join(", ", sharers) + ")"
                        : " and delete what the kit wrote in " + ctx.stateDir() + " (the folder too when nothing else is left)");
        if (!confirmed(out, what)) {
            return dryRun ? 0 : 1;
        }
        platform.prepareTeardown();
        try (LocalLock lock = LocalLock.acquire(ctx.stateDir(), ctx.name(), commandLine())) {
            if (clusterStays) {
                removeFromCluster(ctx, out, destroy != null);
            }
            stop(out, processes, running);
        }
        if (shared) {
            StateDir.deleteOwn(ctx.stateDir(), ctx.directory(), n -> ProcessNames.ownedBy(n, ctx, releases.earlier().keySet()) || ProcessNames.old(n),
                    List.of(ctx.legacy().group(), ctx.newVersion().group()));
            out.println("deleted the files of context '" + ctx.name() + "' in " + ctx.stateDir() + "; kept the folder"
                    + (platform.clusterGoesAway() ? " and the broker" : "") + ", which other contexts use (" + String.join(", ", sharers) + ")");
            out.println("teardown done");
            return 0;
        }
        platform.destroy(out);
        if (StateDir.delete(ctx.stateDir(), ctx.directory())) {
            out.println("deleted " + ctx.stateDir());
        } else {
            out.println("deleted what the kit wrote in " + ctx.stateDir() + "; kept the folder, which holds files the kit did not write"
                    + " or a Terraform state with resources (" + String.join(", ", others(ctx)) + ")");
        }
        out.println("teardown done");
        return 0;
    }

    private static List<String> others(Context ctx) {
        try {
            return StateDir.others(ctx.stateDir()).stream().map(p -> p.getFileName().toString()).toList();
        } catch (IOException e) {
            return List.of("cannot list them: " + e.getMessage());
        }
    }

    /** Prints what teardown would do (--dry-run) or asks to go on (on a terminal, unless --yes); whether to go on. */
    private boolean confirmed(PrintWriter out, String what) {
        if (dryRun) {
            out.println("dry run: would " + what);
            return false;
        }
        if (yes) {
            return true;
        }
        Console console = System.console();
        if (console == null) {
            throw new UserException("teardown deletes things and no terminal is attached to confirm: add --yes");
        }
        String answer = console.readLine("teardown will %s. Type 'yes' to go on: ", what);
        if (answer == null || !answer.trim().equalsIgnoreCase("yes")) {
            out.println("teardown cancelled: nothing changed");
            return false;
        }
        return true;
    }

    /** The releases of other contexts of the topic (the same state topic), made before this context's and after it. */
    private record Releases(Map<String, MigrationState> earlier, Map<String, MigrationState> later) {
    }

    /**
     * Releases of the topic by other contexts. A later one owns what the kit runs for the topic now (the version that consumes
     * it, which this context's release left running, the routing topics, the router, the state folder they share). Nothing is
     * known without the cluster: a local broker that does not run, or a cluster the platform's teardown destroys anyway.
     */
    private Releases releases(Context ctx, Platform platform, Processes processes) {
        if (ctx.platform() == Context.PlatformKind.LOCAL && !LocalPlatform.brokerRuns(ctx, processes)) {
            return new Releases(Map.of(), Map.of());
        }
        try (Session s = wiring.open(ctx, commandLine(), out(), err(), timeout)) {
            Optional<MigrationState> own = s.store.read();
            Map<String, MigrationState> later = s.lifecycle.releasedAfter(own);
            Map<String, MigrationState> earlier = new LinkedHashMap<>(s.store.contexts());
            earlier.remove(ctx.name());
            earlier.keySet().removeAll(later.keySet());
            return new Releases(earlier, later);
        } catch (RuntimeException e) {
            if ((platform.clusterGoesAway() || platform.describeTeardown() != null) && Cli.explain(e) != null) {
                return new Releases(Map.of(), Map.of());
            }
            throw e;
        }
    }

    /**
     * Teardown of a context whose topic a later release took over: only this context's state is deleted; the processes, the
     * routing topics, the state topic and the state folder are the later release's, and its teardown removes them.
     */
    private int forget(Context ctx, PrintWriter out, Map<String, MigrationState> later) {
        String what = "delete the state of context '" + ctx.name() + "' only: " + Lifecycle.describe(later) + " released " + ctx.topic()
                + " after it and owns what the kit runs for " + ctx.topic() + " now (the version that consumes it, the routing topics,"
                + " the state folder " + ctx.stateDir() + "), which stays; tear that context down to remove it";
        if (!confirmed(out, what)) {
            return dryRun ? 0 : 1;
        }
        try (LocalLock lock = LocalLock.acquire(ctx.stateDir(), ctx.name(), commandLine());
             Session s = wiring.open(ctx, commandLine(), out, err(), timeout)) {
            Optional<MigrationState> own = s.store.read();
            if (own.isPresent()) {
                s.store.delete(own.get().version());
                out.println("deleted the state of context '" + ctx.name() + "' from " + ctx.stateTopic());
            } else {
                out.println("context '" + ctx.name() + "' has no state to delete");
            }
        }
        out.println("kept the processes, topics and state folder of " + Lifecycle.describe(later));
        out.println("teardown done");
        return 0;
    }

    /** The routing resources, the derived topics and the state topic; the original topic stays. */
    private void removeFromCluster(Context ctx, PrintWriter out, boolean destroyFollows) {
        try (Session s = wiring.open(ctx, commandLine(), out, err(), timeout);
             KafkaCluster cluster = KafkaCluster.connect(ctx.kafka().clientProperties())) {
            s.store.read().ifPresent(st -> s.engine.remove(st, timeout));
            List<String> deleted = cluster.deleteTopics(List.of(ctx.legacyTopic(), ctx.newTopic(), ctx.countsTopic(), ctx.stateTopic()));
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

    /**
     * Services first, the brokers last: the services need them to leave their groups cleanly. The brokers of a replicated
     * cluster stop together: one left alone without a majority of controllers would wait for them until killed.
     */
    private static void stop(PrintWriter out, Processes processes, List<String> running) {
        List<String> brokers = running.stream().filter(LocalPlatform::isBroker).toList();
        for (String name : running) {
            if (!LocalPlatform.isBroker(name)) {
                processes.stop(name, Duration.ofSeconds(20));
                out.println("stopped " + name);
            }
        }
        brokers.parallelStream().forEach(name -> processes.stop(name, Duration.ofSeconds(20)));
        brokers.forEach(name -> out.println("stopped " + name));
    }

    public static void main(String[] args) {
        Cli.main(new TeardownCommand(), args);
    }
}
