package canary.cli;

import java.io.PrintWriter;

import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

import canary.common.Logs;
import canary.common.UserException;
import canary.kafka.KafkaErrors;

/**
 * Runs a script's command with the kit's one error handler: failures the user caused or can fix
 * become one red line and a non-zero exit; real bugs keep their stack trace.
 */
public final class Cli {

    static {
        Logs.quiet();
    }

    private Cli() {
    }

    /** Runs and exits: what a script's {@code main} calls. */
    public static void main(Object command, String... args) {
        System.exit(run(command, args));
    }

    /** Runs and returns the exit code (for tests). */
    public static int run(Object command, String... args) {
        return commandLine(command).execute(args);
    }

    public static CommandLine commandLine(Object command) {
        CommandLine cl = new CommandLine(command);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler(new ErrorHandler());
        cl.setParameterExceptionHandler(new BadArguments());
        return cl;
    }

    /** Maps a failure to the one line a user sees, or returns null for a bug. */
    public static UserException explain(Throwable failure) {
        return KafkaErrors.explain(failure);
    }

    private static final class ErrorHandler implements IExecutionExceptionHandler {
        @Override
        public int handleExecutionException(Exception ex, CommandLine cl, ParseResult parseResult) throws Exception {
            UserException user = explain(ex);
            if (user == null) {
                throw ex;
            }
            PrintWriter err = cl.getErr();
            err.println(cl.getColorScheme().errorText(cl.getCommandName() + ": " + user.getMessage()));
            err.flush();
            return user.exitCode();
        }
    }

    private static final class BadArguments implements IParameterExceptionHandler {
        @Override
        public int handleParseException(ParameterException ex, String[] args) {
            CommandLine cl = ex.getCommandLine();
            PrintWriter err = cl.getErr();
            err.println(cl.getColorScheme().errorText(cl.getCommandName() + ": " + ex.getMessage() + " (see --help)"));
            err.flush();
            return UserException.BAD_INPUT;
        }
    }
}
