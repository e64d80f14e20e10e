package canary.kafka;

import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import canary.common.Text;
import canary.common.UserException;

/** What Kafka's client exceptions mean for a user, as one line and an exit code. */
public final class KafkaErrors {

    private KafkaErrors() {
    }

    /** The user failure a Kafka exception in {@code failure}'s causes stands for, or null when it is none of them. */
    public static UserException explain(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof UserException u) {
                return u;
            }
            if (t instanceof AuthenticationException) {
                return new UserException(UserException.ENVIRONMENT, "Kafka refused the credentials: " + Text.firstLine(t.getMessage())
                        + " (check the client properties of the context)", t);
            }
            if (t instanceof AuthorizationException) {
                return new UserException(UserException.ENVIRONMENT, "Kafka denied the operation: " + Text.firstLine(t.getMessage()), t);
            }
            if (t instanceof UnknownTopicOrPartitionException) {
                return new UserException(UserException.BAD_INPUT, "a topic does not exist: " + Text.firstLine(t.getMessage()), t);
            }
            if (t instanceof TimeoutException) {
                return new UserException(UserException.ENVIRONMENT, "Kafka did not answer in time: " + Text.firstLine(t.getMessage())
                        + " (is the broker reachable?)", t);
            }
        }
        return null;
    }
}
