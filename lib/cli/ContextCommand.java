package canary.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;

import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import canary.common.Durations;
import canary.context.Context;
import canary.platform.LocalLock;
import canary.platform.Terraform;

/** What every script shares: the context file argument, {@code --timeout}, output through picocli. */
public abstract class ContextCommand implements Callable<Integer> {

    @Spec
    protected CommandSpec spec;

    @Parameters(index = "0", paramLabel = "CONTEXT", description = "the context file (YAML), e.g. services_examples/context.yaml")
    protected Path contextFile;

    @Option(names = "--timeout", defaultValue = "5m", converter = PositiveDurationConverter.class, paramLabel = "DURATION",
            description = "the longest any single wait may take (30s, 5m, 1h; default ${DEFAULT-VALUE})")
    protected Duration timeout;

    /** What the command talks to outside the JVM; tests replace it. */
    protected Wiring wiring = Wiring.real();

    /** Runs this command against {@code w} instead of the real cluster and processes (tests). */
    public ContextCommand wiring(Wiring w) {
        this.wiring = w;
        return this;
    }

    protected PrintWriter out() {
        return spec.commandLine().getOut();
    }

    protected PrintWriter err() {
        return spec.commandLine().getErr();
    }

    /** Loads the context; ${...} references the environment does not set may come from the ksqldb.env setup wrote. */
    protected Context context() {
        return Context.load(contextFile, Terraform.contextEnv(contextFile, wiring.env()));
    }

    /** The command as the user typed it (script name and arguments), for the state's history. */
    protected String commandLine() {
        var parsed = spec.commandLine().getParseResult();
        return parsed == null ? spec.name() : spec.name() + " " + String.join(" ", parsed.originalArgs());
    }

    /**
     * Opens a session holding the host lock for the context (mutating scripts). A command that fails leaves no lock file and no
     * state folder that only the lock created.
     */
    protected <T> T withLockedSession(SessionWork<T> work) {
        Context ctx = context();
        canary.platform.ProcessNames.refuseOldProcesses(ctx.stateDir());
        try (LocalLock lock = LocalLock.acquire(ctx.stateDir(), ctx.name(), commandLine());
             Session s = wiring.open(ctx, commandLine(), out(), err(), timeout)) {
            T result = work.run(s);
            lock.succeeded();
            return result;
        }
    }

    protected interface SessionWork<T> {
        T run(Session s);
    }

    public static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return Durations.parse(value);
            } catch (IllegalArgumentException e) {
                throw new picocli.CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    /** A duration above zero: a wait of 0s would time out before it looked once, a refresh every 0s would spin. */
    public static final class PositiveDurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            Duration d = new DurationConverter().convert(value);
            if (d.isZero()) {
                throw new picocli.CommandLine.TypeConversionException("expected a duration above 0 such as 30s, 5m or 1h30m, got '"
                        + value + "'");
            }
            return d;
        }
    }
}
