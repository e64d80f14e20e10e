package canary.release;

import java.time.Duration;

import canary.context.Role;

/**
 * Starts and stops the two versions of the service. On a real host: the context's commands
 * ({@code canary.platform.ProcessVersions}); in the fast tests: a fake.
 */
public interface Versions {

    /** Starts a version on a topic unless it already runs. */
    void start(Role role, String topic, Duration timeout);

    /** Stops a version and waits until its consumer group is empty, so that its committed offsets are final. */
    void stop(Role role, String topic, Duration timeout);

    /** Whether the version runs (its process, or members in its group). */
    boolean running(Role role);
}
