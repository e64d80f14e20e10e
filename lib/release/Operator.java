package canary.release;

import java.net.InetAddress;
import java.util.function.Function;

/** Who changes the state, from where, with which command: what the history records for each change. */
public record Operator(String user, String host, String command) {

    /** The user and host of this process (from {@code env}: HOSTNAME first, then the resolver). */
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
