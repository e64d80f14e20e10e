package canary;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import canary.platform.Processes;

/** Tiny main classes that the process tests run as child JVMs. */
final class ChildProcesses {

    private ChildProcesses() {
    }

    /** Says it is up (with its arguments, FOO from the environment and its working folder), then waits until killed. */
    static final class Sleeper {
        public static void main(String[] args) throws InterruptedException {
            System.out.println("sleeper up " + String.join(" ", args) + " FOO=" + System.getenv("FOO") + " dir=" + Path.of("").toAbsolutePath());
            System.err.println("sleeper stderr line");
            System.out.flush();
            new CountDownLatch(1).await();
        }
    }

    /** Ignores SIGTERM: its shutdown hook never returns. Only SIGKILL ends it. */
    static final class Stubborn {
        public static void main(String[] args) throws InterruptedException {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                System.out.println("stubborn got SIGTERM, ignoring it");
                System.out.flush();
                try {
                    new CountDownLatch(1).await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            System.out.println("stubborn ready");
            System.out.flush();
            new CountDownLatch(1).await();
        }
    }

    /** Starts a sleeper under {@code args[1]} in the state folder {@code args[0]} and exits at once, like a setup script. */
    static final class Launcher {
        public static void main(String[] args) {
            Processes.StartResult r = new Processes(Path.of(args[0]))
                    .start(args[1], Processes.javaCommand(Sleeper.class.getName(), "grandchild"), Path.of(args[0]), Map.of());
            System.out.println(r.describe());
        }
    }

    /** Says it ran, then exits with the code {@code args[0]}. */
    static final class Exiter {
        public static void main(String[] args) {
            System.out.println("exiter ran, exiting with " + args[0]);
            System.out.flush();
            System.exit(Integer.parseInt(args[0]));
        }
    }

    static List<String> exiter(int code) {
        return Processes.javaCommand(Exiter.class.getName(), String.valueOf(code));
    }

    static List<String> sleeper(String... args) {
        return Processes.javaCommand(Sleeper.class.getName(), args);
    }
}
