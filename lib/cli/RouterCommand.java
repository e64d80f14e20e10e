package canary.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.common.UserException;
import canary.context.Context;
import canary.engine.router.Router;

@Command(name = "router", mixinStandardHelpOptions = true,
        description = "Runs one instance of the embedded router in the foreground until the migration ends. migration.java starts "
                + "instance 0 itself; run more instances (other numbers) to share the partitions.",
        footer = {"", "Example:", "  ./jbang router.java services_examples/context.yaml --instance 1"})
public final class RouterCommand extends ContextCommand {

    @Option(names = "--instance", defaultValue = "0", paramLabel = "N",
            description = "the instance number; each running instance needs its own (default ${DEFAULT-VALUE})")
    int instance;

    @Override
    public Integer call() {
        Context ctx = context();
        if (instance < 0) {
            throw new UserException("invalid --instance " + instance + ": expected 0 or more");
        }
        Router router = new Router(ctx, ctx.kafka().clientProperties(), instance, out());
        java.util.concurrent.CountDownLatch finished = new java.util.concurrent.CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // SIGTERM: abort the open transaction, leave the group, then let the JVM end.
            router.close();
            try {
                finished.await(20, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "router-shutdown"));
        try {
            return router.run();
        } finally {
            finished.countDown();
        }
    }

    public static void main(String[] args) {
        Cli.main(new RouterCommand(), args);
    }
}
