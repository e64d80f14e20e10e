package canary.cli;

import java.nio.file.Path;
import java.util.function.Function;

import canary.context.Context;
import canary.platform.Terraform;

/**
 * setup and teardown: the scripts that provision or destroy a platform. They may run Terraform (the
 * binary and the environment are injectable for tests) and load the context before Terraform wrote
 * the files its {@code ${ENV}} references point to.
 */
public abstract class ProvisioningCommand extends ContextCommand {

    protected final Path terraformBinary;
    protected final Function<String, String> env;

    /** @param terraformBinary the terraform to run, or null for -Dcanary.terraform or terraform on the PATH */
    protected ProvisioningCommand(Path terraformBinary, Function<String, String> env) {
        this.terraformBinary = terraformBinary;
        this.env = env;
    }

    /**
     * Before Terraform has run, ksqldb.env does not exist yet: the ${KSQLDB_...} references it will
     * provide load as placeholders, and the context is loaded again once the file is written.
     */
    @Override
    protected Context context() {
        return Terraform.loadBeforeProvisioned(contextFile, env);
    }
}
