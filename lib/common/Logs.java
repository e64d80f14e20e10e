package canary.common;

/** The libraries' logging (Kafka's clients log through slf4j-simple). */
public final class Logs {

    private Logs() {
    }

    /** Kafka's client logs are noise for an operator: errors only (unless set), to stderr. Our own output says what happens. */
    public static void quiet() {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
        }
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    }
}
