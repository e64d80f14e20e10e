package canary;

import java.nio.file.Path;

import canary.platform.LocalLock;

/** A child JVM for tests: holds the host lock of a context until killed. */
public final class HoldLock {
    public static void main(String[] args) throws InterruptedException {
        try (LocalLock lock = LocalLock.acquire(Path.of(args[0]), args[1], "held by a test")) {
            System.out.println("locked");
            System.out.flush();
            Thread.sleep(Long.MAX_VALUE);
        }
    }
}
