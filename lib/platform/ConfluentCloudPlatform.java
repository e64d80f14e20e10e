package canary.platform;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import canary.context.Context;
import canary.release.Cluster;

/**
 * Confluent Cloud, provisioned with Terraform in terraform/: setup runs init and apply and writes
 * the Kafka client properties and the ksqlDB endpoint and credentials (mode 600) from its outputs;
 * teardown runs destroy, which deletes the whole environment.
 */
public final class ConfluentCloudPlatform implements Platform {

    private final Context ctx;
    private final Path contextFile;
    private final Terraform tf;
    private final Function<String, String> env;

    public ConfluentCloudPlatform(Context ctx, Path contextFile, Terraform tf, Function<String, String> env) {
        this.ctx = ctx;
        this.contextFile = contextFile;
        this.tf = tf;
        this.env = env;
    }

    @Override
    public List<String> describeSetup() {
        List<String> out = new ArrayList<>();
        out.add("provision Confluent Cloud with Terraform (credentials: " + tf.credentialsStatus() + "):");
        for (List<String> args : List.of(Terraform.initArgs(), Terraform.applyArgs(ctx), Terraform.outputArgs())) {
            out.add("  " + tf.show(args));
        }
        out.add("  write the Kafka client properties (SASL_SSL, PLAIN with the Kafka API key) to "
                + ctx.stateDir().resolve(Terraform.CLIENT_PROPERTIES) + " (mode 600)");
        out.add("  write the ksqlDB endpoint and credentials (" + String.join(", ", Terraform.KSQLDB_VARIABLES) + ") to "
                + ctx.stateDir().resolve(Terraform.KSQLDB_ENV) + " (mode 600)");
        out.add("  check that Kafka answers and " + ctx.topic() + " exists, and start the legacy version (group "
                + ctx.legacy().group() + ") on " + ctx.topic());
        return out;
    }

    @Override
    public Context provision(PrintWriter out, Duration timeout) {
        tf.requireCredentials();
        tf.init();
        tf.apply(ctx);
        List<Path> written = Terraform.writeClientFiles(tf.outputs(), ctx.stateDir());
        out.println("wrote " + written.get(0) + " and " + written.get(1) + " (mode 600; secrets are not printed)");
        return Context.load(contextFile, Terraform.contextEnv(contextFile, env));
    }

    @Override
    public void populate(Context c, Cluster cluster, PrintWriter out) {
        out.println("Kafka at " + c.kafka().describe() + " answers; topic " + c.topic() + " has " + cluster.partitions(c.topic()) + " partitions");
    }

    @Override
    public boolean startsLegacy() {
        return true;
    }

    @Override
    public String describeTeardown() {
        return "run " + tf.show(Terraform.destroyArgs(ctx)) + " (deletes the Confluent Cloud environment)";
    }

    @Override
    public boolean clusterGoesAway() {
        return false;
    }

    @Override
    public void checkTeardown() {
        tf.requireCredentials();
    }

    @Override
    public void destroy(PrintWriter out) {
        tf.destroy(ctx);
    }
}
