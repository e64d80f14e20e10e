package canary.engine.ksqldb;

import canary.common.UserException;

/**
 * A failure talking to ksqlDB, with a message that is one line a user can act on: what ksqlDB
 * said, about which statement, and the error code. The message never contains credentials. A
 * failure of the environment (exit code 3) for the one error handler.
 */
public final class KsqlException extends UserException {

    /** What went wrong, so callers can decide without parsing the message. */
    public enum Kind {
        /** ksqlDB refused a statement ({@code statement_error}, or a command that ended in ERROR). */
        STATEMENT,
        /** ksqlDB answered with an error that is not about one statement ({@code generic_error}). */
        SERVER,
        /** HTTP 401 or 403: the API key and secret are wrong or lack a role. */
        CREDENTIALS,
        /** No HTTP answer after the retries: connection refused, unknown host, timeout. */
        UNREACHABLE,
        /** The server is too old for what was asked (for example PAUSE/RESUME before 0.28). */
        UNSUPPORTED,
        /** The server answered something that is not the documented JSON. */
        PROTOCOL,
        /**
         * A statement that changes something was sent and no clear answer came back (a 5xx, a timeout, a dropped
         * connection): the server may or may not have run it. Not repeated; the caller reads the server's state to decide.
         */
        AMBIGUOUS
    }

    private final Kind kind;
    private final int httpStatus;
    private final int errorCode;
    private final String statementText;

    public KsqlException(Kind kind, String message, int httpStatus, int errorCode, String statementText,
            Throwable cause) {
        super(ENVIRONMENT, message, cause);
        this.kind = kind;
        this.httpStatus = httpStatus;
        this.errorCode = errorCode;
        this.statementText = statementText;
    }

    public KsqlException(Kind kind, String message) {
        this(kind, message, -1, -1, null, null);
    }

    public Kind kind() {
        return kind;
    }

    /** The HTTP status of the answer, or -1 when there was none. */
    public int httpStatus() {
        return httpStatus;
    }

    /** ksqlDB's {@code error_code} (for example 40001), or -1 when the answer had none. */
    public int errorCode() {
        return errorCode;
    }

    /** The statement ksqlDB refused, or null. */
    public String statementText() {
        return statementText;
    }
}
