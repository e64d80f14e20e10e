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
 * Confluent Cloud, provisioned with Terraform in terraform/, one Terraform state per state folder
 * ({@code <state_dir>/terraform/}): setup runs init and apply and writes the Kafka client properties
 * and the ksqlDB endpoint and credentials (mode 600) from its outputs; teardown runs init and destroy,
 * which deletes this context's environment and nothing else.
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
        tf.checkState();
        List<String> out = new ArrayList<>();
        out.add("provision Confluent Cloud with Terraform (credentials: " + tf.credentialsStatus() + "):");
        out.add("  keep the " + tf.describeFolder());
        for (List<String> args : List.of(tf.initArgs(), tf.applyArgs(), tf.outputArgs())) {
            out.add("  " + tf.show(args));
        }
        out.add("  (apply takes 10 minutes or more: the ksqlDB cluster takes minutes to provision, and the Confluent provider "
                + "waits 5 minutes after creating the ksqlDB API key)");
        out.add("  write the Kafka client properties (SASL_SSL, PLAIN with the Kafka API key) to "
                + ctx.stateDir().resolve(Terraform.CLIENT_PROPERTIES) + " (mode 600)");
        out.add("  write the ksqlDB endpoint and credentials (" + String.join(", ", Terraform.KSQLDB_VARIABLES) + ") to "
                + ctx.stateDir().resolve(Terraform.KSQLDB_ENV) + " (mode 600)");
        out.add("  check that Kafka answers and " + ctx.topic() + " exists, and start the legacy version (group "
                + ctx.legacy().group() + ") on " + ctx.topic());
        return out;
    }

    @Override
    public void checkSetup() {
        tf.requireCredentials();
        tf.checkState();
    }

    @Override
    public Context provision(PrintWriter out, Duration timeout) {
        checkSetup();
        tf.init();
        out.println("terraform apply takes 10 minutes or more: the ksqlDB cluster takes minutes to provision, and the Confluent "
                + "provider waits 5 minutes after creating the ksqlDB API key");
        tf.apply();
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
        tf.checkState();
        if (!tf.hasResources()) {
            return "run no terraform (" + tf.stateFile() + " holds no resources: nothing to destroy)";
        }
        return "run " + tf.show(tf.initArgs()) + " and " + tf.show(tf.destroyArgs()) + " (deletes the Confluent Cloud environment of "
                + "this state folder)";
    }

    @Override
    public boolean clusterGoesAway() {
        return false;
    }

    /** Before anything is stopped: the credentials, whose state this is, and init (a provider that cannot be installed stops teardown here). */
    @Override
    public void prepareTeardown() {
        tf.checkState();
        if (tf.hasResources()) {
            tf.requireCredentials();
            tf.init();
        }
    }

    @Override
    public void destroy(PrintWriter out) {
        if (!tf.hasResources()) {
            out.println("no Terraform state with resources in " + tf.folder() + ": nothing to destroy");
            return;
        }
        tf.destroy();
    }
}
