package canary.platform;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

import canary.context.Context;
import canary.release.Cluster;

/**
 * Where the cluster of a context comes from, beside the {@link canary.release.Engine} that routes
 * on it: {@code local} (a KRaft broker this host starts), {@code existing} (a cluster someone else
 * runs) or {@code confluent-cloud} (provisioned with Terraform). setup and teardown delegate to it
 * and never branch on the platform.
 */
public interface Platform {

    /** What {@link #provision} and {@link #populate} would do, one line each, for {@code setup --dry-run}. */
    List<String> describeSetup();

    /**
     * Makes the cluster reachable: starts the local broker and waits until it answers, or applies
     * Terraform and writes the client files. Returns the context to use from then on (a cloud
     * context is loaded again with the files Terraform's outputs filled). Idempotent.
     */
    Context provision(PrintWriter out, Duration timeout);

    /** Once the cluster answers: what the platform puts in it (local: the topic and the demo producer); checks the topic elsewhere. */
    void populate(Context ctx, Cluster cluster, PrintWriter out);

    /**
     * Refuses, with one line and before anything changes (the state folder and its lock included), a setup that cannot go
     * on (cloud: no credentials, a state folder holding the resources of another topic).
     */
    default void checkSetup() {
    }

    /** Whether setup starts the legacy version on the original topic (not on a cluster someone else runs). */
    boolean startsLegacy();

    /** What {@link #destroy} would do, or null when it does nothing beyond stopping the kit's processes. */
    String describeTeardown();

    /** Whether the cluster itself goes away with teardown (so the kit's topics need no deletion). */
    boolean clusterGoesAway();

    /** After the kit's processes stopped: destroys what {@link #provision} made. */
    void destroy(PrintWriter out);

    /**
     * Checks and prepares what {@link #destroy} needs before anything is stopped (cloud: the credentials, that the state is
     * this context's, terraform init), so that a teardown that cannot destroy stops before it changes anything.
     */
    default void prepareTeardown() {
    }

    /**
     * The platform of a context.
     *
     * @param contextFile     the file the context was loaded from (a cloud context is loaded again after Terraform)
     * @param terraformBinary the terraform to run, or null for -Dcanary.terraform or terraform on the PATH
     * @param env             the environment (Terraform's credentials, ${VAR} references)
     */
    static Platform of(Context ctx, Path contextFile, Path terraformBinary, Function<String, String> env, PrintWriter out) {
        return switch (ctx.platform()) {
            case LOCAL -> new LocalPlatform(ctx, new Processes(ctx.stateDir()));
            case EXISTING -> new ExistingPlatform(ctx);
            case CONFLUENT_CLOUD -> new ConfluentCloudPlatform(ctx, contextFile,
                    new Terraform(Terraform.binary(terraformBinary), Terraform.directory(ctx), ctx, env, out), env);
        };
    }
}
