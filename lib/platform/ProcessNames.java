package canary.platform;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;

import canary.common.UserException;
import canary.context.Context;

/**
 * The names the kit's background processes have in a state folder that several contexts may share (their pid files, logs,
 * supervision records and health files are named after them):
 * <ul>
 * <li>{@code <context>.router-<N>}: router instance N of a context;</li>
 * <li>{@code <context>.producer}: the demo producer of a context;</li>
 * <li>{@code <topic>.service-<group>}: a version of the service on a topic, after its consumer group, not its role or its
 * context, so that the version a promotion leaves running is the same process for the next release of the topic, where it is
 * the legacy version;</li>
 * <li>{@code broker}: the local broker of the folder, which every context of the folder uses.</li>
 * </ul>
 * A folder written by an earlier version of the kit has {@code router-0}, {@code producer} and {@code service-<group>}: names
 * every context would share. This version refuses to run next to such processes (one line: stop them first).
 */
public final class ProcessNames {

    public static final String BROKER = "broker";

    private static final Pattern OLD = Pattern.compile("router-\\d+|producer|service-[^.]*");
    /** The names of some context's processes (the broker aside), whatever the context or topic. */
    private static final Pattern ANY_CONTEXT = Pattern.compile(".+\\.(router-\\d+|producer|rollout-probe)|.+\\.service-.+");

    private ProcessNames() {
    }

    public static String router(Context ctx, int instance) {
        return router(ctx.name(), instance);
    }

    static String router(String context, int instance) {
        return context + ".router-" + instance;
    }

    public static String producer(Context ctx) {
        return producer(ctx.name());
    }

    static String producer(String context) {
        return context + ".producer";
    }

    /** The name of the version with consumer group {@code group} on {@code topic}; a character a name cannot hold becomes {@code _}. */
    public static String service(String topic, String group) {
        return clean(topic) + ".service-" + clean(group);
    }

    private static String clean(String s) {
        return s.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /**
     * Whether {@code name} (a process, or a file named after one: {@code <name>-start} logs included) belongs to {@code ctx} or
     * to one of the {@code earlier} contexts that released the same topic before it (their routers and producers; the versions of
     * the topic are the topic's).
     */
    public static boolean ownedBy(String name, Context ctx, Collection<String> earlier) {
        if (name.startsWith(clean(ctx.topic()) + ".service-")) {
            return true;
        }
        List<String> contexts = new java.util.ArrayList<>(earlier);
        contexts.add(ctx.name());
        for (String c : contexts) {
            if (name.equals(producer(c)) || name.equals(c + ".rollout-probe") || name.matches(Pattern.quote(c) + "\\.router-\\d+")) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code name} is the name of some context's process (not the broker, not a name the kit does not give). */
    public static boolean anyContexts(String name) {
        return ANY_CONTEXT.matcher(name).matches();
    }

    /** Whether {@code name} is one an earlier version of the kit gave, shared by every context of a folder. */
    public static boolean old(String name) {
        return OLD.matcher(name).matches();
    }

    /**
     * Refuses, with one line and before anything changed, to run where processes of an earlier version of the kit still run
     * under names every context of the folder would share: this version would not see them (it would start a second router or
     * version beside them).
     */
    public static void refuseOldProcesses(Path stateDir) {
        List<String> old = new TreeSet<>(new Processes(stateDir).running()).stream().filter(ProcessNames::old).toList();
        if (!old.isEmpty()) {
            throw new UserException("the state folder " + stateDir + " has processes an earlier version of the kit started under names"
                    + " shared by every context (" + String.join(", ", old) + "); this version names them per context: finish or roll"
                    + " back that release with the earlier version, or stop them with teardown.java, then run this again");
        }
    }
}
