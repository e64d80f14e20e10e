package canary.common;

/**
 * A failure the user caused or can fix (bad input, unreachable broker, missing topic, a step that
 * does not apply in the current phase). Its message is the one line the user sees; no stack trace.
 */
public class UserException extends RuntimeException {

    /** Exit code for bad input and steps that do not apply. */
    public static final int BAD_INPUT = 2;
    /** Exit code for failures of the environment: unreachable services, timeouts. */
    public static final int ENVIRONMENT = 3;

    private final int exitCode;

    public UserException(String message) {
        this(BAD_INPUT, message);
    }

    public UserException(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public UserException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }

    /** The user failure in a chain of causes (the failure itself first), or null when there is none. */
    public static UserException in(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof UserException u) {
                return u;
            }
        }
        return null;
    }
}
