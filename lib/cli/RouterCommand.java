package canary.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import canary.common.UserException;
import canary.context.Context;
import canary.context.MetricsSettings;
import canary.engine.router.Router;
import canary.engine.router.RouterMetrics;
import canary.platform.LocalLock;

@Command(name = "router", mixinStandardHelpOptions = true,
        description = "Runs one instance of the embedded router in the foreground until the migration ends. migration.java starts "
                + "instance 0 itself (supervised: restarted when it fails); run more instances (other numbers) to share the partitions. "
                + "Made for a supervisor (systemd, Kubernetes): exit 0 when the migration ended, 2 when refused (no migration, or the "
                + "instance number already runs: do not restart), 3 when the environment failed (restart); health in --health-file.",
        footer = {"", "Example:", "  ./jbang router.java services_examples/context.yaml --instance 1"})
public final class RouterCommand extends ContextCommand {

    @Option(names = "--instance", defaultValue = "0", paramLabel = "N",
            description = "the instance number; each running instance needs its own (default ${DEFAULT-VALUE})")
    int instance;

    @Option(names = "--health-file", paramLabel = "FILE",
            description = "where the instance writes its health as JSON (status starting/routing/paused/refused/exited/stopped, updated "
                    + "at least every 5 s; default <state_dir>/health/<context>.router-<N>.json)")
    java.nio.file.Path healthFile;

    @Option(names = "--commit-interval", paramLabel = "DURATION", converter = PositiveDurationConverter.class,
            description = "how long a transaction collects routed records before it commits (default 50ms: a record waits at most "
                    + "about this long before the versions can read it; longer means fewer, bigger transactions)")
    java.time.Duration commitInterval = Router.Tuning.DEFAULT.commitInterval();

    @Option(names = "--commit-bytes", paramLabel = "BYTES",
            description = "commit earlier when a transaction holds this many bytes of keys and values (default ${DEFAULT-VALUE})")
    long commitBytes = Router.Tuning.DEFAULT.commitBytes();

    @Option(names = "--metrics-port", paramLabel = "PORT",
            description = "serve Prometheus metrics on http://<metrics.host>:PORT/metrics (0: none; default: metrics.port in the context"
                    + " + the instance number, or none)")
    Integer metricsPort;

    @Override
    public Integer call() throws Exception {
        Context ctx = context();
        if (instance < 0) {
            throw new UserException("invalid --instance " + instance + ": expected 0 or more");
        }
        java.nio.file.Path health = healthFile != null ? healthFile : ctx.stateDir().resolve("health").resolve(canary.platform.ProcessNames.router(ctx, instance) + ".json");
        // One instance number, one process: on this host the lock says so at once; elsewhere the router group does (Router).
        LocalLock lock;
        try {
            lock = LocalLock.acquire(ctx.stateDir(), ctx.name() + ".router-" + instance, commandLine());
        } catch (LocalLock.Busy e) {
            throw new UserException("router instance " + instance + " of context '" + ctx.name() + "' already runs on this host: give this one"
                    + " another --instance");
        }
        if (commitBytes < 1) {
            throw new UserException("invalid --commit-bytes " + commitBytes + ": expected 1 or more");
        }
        Router router = new Router(ctx, ctx.kafka().clientProperties(), instance, out(), health,
                new Router.Tuning(commitInterval, commitBytes));
        MetricsSettings ms = MetricsSettings.of(ctx);
        int port = metricsPort != null ? metricsPort : ms.on() ? ms.port(instance) : 0;
        if (port < 0 || port > 65535) {
            throw new UserException("invalid --metrics-port " + port + ": expected a port from 1 to 65535, or 0 for none");
        }
        RouterMetrics metrics = new RouterMetrics(ctx.name());
        router.metrics(metrics);
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
        try (lock; AutoCloseable served = port == 0 ? () -> { } : metrics.serve(ms.host(), port)) {
            if (port != 0) {
                out().println("router instance " + instance + " serves metrics on http://" + ms.host() + ":" + port + "/metrics");
                out().flush();
            }
            int code = router.run();
            lock.succeeded();
            return code;
        } finally {
            finished.countDown();
        }
    }

    public static void main(String[] args) {
        Cli.main(new RouterCommand(), args);
    }
}
