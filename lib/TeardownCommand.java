package canary;

import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "teardown", mixinStandardHelpOptions = true,
        description = "Stops every process the kit started, removes the routing topics and the state of the migration, and deletes "
                + "the state folder (for the local platform: the broker and all its data). The original topic of an existing "
                + "cluster is never deleted. Asks for confirmation on a terminal; --yes otherwise.",
        footer = {"", "Example:", "  ./jbang teardown.java services_examples/context.yaml --yes"})
public final class TeardownCommand extends ContextCommand {

    @Option(names = {"-y", "--yes"}, description = "do not ask for confirmation")
    boolean yes;

    @Option(names = "--dry-run", description = "print what would be stopped and deleted, change nothing")
    boolean dryRun;

    @Override
    public Integer call() {
        Context ctx = context();
        PrintWriter out = out();
        Processes processes = new Processes(ctx.stateDir());
        List<String> running = processes.running();
        String what = "stop " + (running.isEmpty() ? "no process" : String.join(", ", running))
                + (ctx.platform() == Context.Platform.LOCAL ? "" : ", delete " + ctx.legacyTopic() + ", " + ctx.newTopic() + " and " + ctx.stateTopic())
                + " and delete " + ctx.stateDir();
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
        try (LocalLock lock = LocalLock.acquire(ctx.stateDir(), ctx.name(), commandLine())) {
            stopAndRemove(ctx, out, processes, running);
        }
        deleteTree(ctx.stateDir());
        out.println("deleted " + ctx.stateDir());
        out.println("teardown done");
        return 0;
    }

    private void stopAndRemove(Context ctx, PrintWriter out, Processes processes, List<String> running) {
        if (ctx.platform() != Context.Platform.LOCAL) {
            try (Session s = new Session(ctx, "teardown", out, timeout)) {
                s.store.read().ifPresent(st -> s.engine.remove(st, timeout));
                List<String> deleted = s.cluster.deleteTopics(List.of(ctx.legacyTopic(), ctx.newTopic(), ctx.stateTopic()));
                if (!deleted.isEmpty()) {
                    out.println("deleted topics " + String.join(", ", deleted));
                }
            }
        }
        // Services first, the broker last: they need it to leave their groups cleanly.
        List<String> order = new ArrayList<>(running);
        order.sort(Comparator.comparing(n -> n.equals(SetupCommand.BROKER) ? 1 : 0));
        for (String name : order) {
            processes.stop(name, Duration.ofSeconds(20));
            out.println("stopped " + name);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UserException(UserException.ENVIRONMENT, "cannot delete " + dir + ": " + e.getMessage());
        }
    }

    public static void main(String[] args) {
        Cli.main(new TeardownCommand(), args);
    }
}
