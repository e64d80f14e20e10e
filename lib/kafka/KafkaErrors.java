package canary.kafka;

import java.util.Set;
import java.util.TreeSet;

import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import canary.common.Text;
import canary.common.UserException;

/** What Kafka's client exceptions mean for a user, as one line and an exit code. */
public final class KafkaErrors {

    /** Where the README lists the ACLs of the kit and of each version. */
    static final String SEE = "see the README's \"Least privilege\" table for the ACLs the kit needs";

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
                return new UserException(UserException.ENVIRONMENT, "Kafka denied " + denied((AuthorizationException) t) + " (" + SEE + ")", t);
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

    /**
     * The resource an authorization failure names: {@code access to topic orders_new}, {@code access to group service_v1},
     * {@code the transactional id canary-router-demo-0}, {@code a cluster operation}. The operation is the "cannot ..." of the
     * line that wraps it.
     */
    static String denied(AuthorizationException e) {
        if (e instanceof TopicAuthorizationException ta && !ta.unauthorizedTopics().isEmpty()) {
            Set<String> topics = new TreeSet<>(ta.unauthorizedTopics());
            return "access to topic" + (topics.size() > 1 ? "s " : " ") + String.join(", ", topics);
        }
        if (e instanceof GroupAuthorizationException ga && ga.groupId() != null) {
            return "access to group " + ga.groupId();
        }
        if (e instanceof TransactionalIdAuthorizationException) {
            return "access to a transactional id: " + Text.firstLine(e.getMessage());
        }
        if (e instanceof ClusterAuthorizationException) {
            return "a cluster operation: " + Text.firstLine(e.getMessage());
        }
        return "the operation: " + Text.firstLine(e.getMessage());
    }
}
