package canary;

import java.io.PrintWriter;

import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Runs a script's command with the kit's one error handler: failures the user caused or can fix
 * become one red line and a non-zero exit; real bugs keep their stack trace.
 */
public final class Cli {

    static {
        quietLibraryLogs();
    }

    private Cli() {
    }

    /** Kafka's client logs are noise for an operator; our own output says what happens. */
    public static void quietLibraryLogs() {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
        }
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
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
        cl.setExecutionExceptionHandler(new ErrorHandler());
        cl.setParameterExceptionHandler(new BadArguments());
        return cl;
    }

    /** Maps a failure to the one line a user sees, or returns null for a bug. */
    static UserException explain(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof UserException u) {
                return u;
            }
            if (t instanceof KsqlException k) {
                // what ksqlDB said is already one line: unreachable, credentials, a refused statement, too old
                return new UserException(UserException.ENVIRONMENT, k.getMessage(), k);
            }
            if (t instanceof AuthenticationException) {
                return new UserException(UserException.ENVIRONMENT, "Kafka refused the credentials: " + firstLine(t.getMessage())
                        + " (check the client properties of the context)", t);
            }
            if (t instanceof AuthorizationException) {
                return new UserException(UserException.ENVIRONMENT, "Kafka denied the operation: " + firstLine(t.getMessage()), t);
            }
            if (t instanceof UnknownTopicOrPartitionException) {
                return new UserException(UserException.BAD_INPUT, "a topic does not exist: " + firstLine(t.getMessage()), t);
            }
            if (t instanceof TimeoutException) {
                return new UserException(UserException.ENVIRONMENT, "Kafka did not answer in time: " + firstLine(t.getMessage())
                        + " (is the broker reachable?)", t);
            }
        }
        return null;
    }

    static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
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
