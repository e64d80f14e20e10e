package canary.release;

import java.net.InetAddress;
import java.util.function.Function;

/**
 * Who changes the state, from where, with which command, in which process: what the history
 * records for each change, and what a step in progress records so that others can tell whether it
 * still runs.
 */
public record Operator(String user, String host, String command, long pid) {

    /** This process. */
    public Operator(String user, String host, String command) {
        this(user, host, command, ProcessHandle.current().pid());
    }

    /** The user and host of this process (from {@code env}: USER and HOSTNAME first, then the JVM and the resolver). */
    public static Operator of(String command, Function<String, String> env) {
        String user = env.apply("USER");
        if (user == null || user.isBlank()) {
            user = System.getProperty("user.name", "?");
        }
        String host = env.apply("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException e) {
                host = "unknown-host";
            }
        }
        return new Operator(user, host, command);
    }
}
