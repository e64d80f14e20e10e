package canary.release;

import java.time.Instant;
import java.util.Map;

import canary.release.MigrationState.Phase;

/**
 * Where the release tells the outside what happened: the port the kit's webhooks implement (in the platform layer; the
 * release layer does no HTTP). {@link #post} must return within the notifier's own time limit and never throw: a
 * notification never changes a step's result.
 */
public interface Notifier {

    /** Posts one event; failures are the notifier's to report, not the caller's. */
    void post(Event event);

    /** Whether posting does anything (no webhook configured: nothing to compute). */
    default boolean enabled() {
        return true;
    }

    /** No webhooks. */
    Notifier NONE = new Notifier() {
        @Override
        public void post(Event event) {
        }

        @Override
        public boolean enabled() {
            return false;
        }
    };

    /** What happened to a release. */
    enum Kind {
        /** The migration finished: routing runs at its first share. */
        MIGRATION,
        /** The share (or the rules, or the new version's partitions) changed: update_rate, or a rollout advance. */
        SHARE_CHANGE,
        /** A rollout gate failed. */
        GATE_FAILURE,
        /** The rollout holds at its step because a gate failed (on_failure hold). */
        HOLD,
        /** The new version took the original topic over. */
        PROMOTE,
        /** The legacy version took the original topic back. */
        ROLLBACK,
        /** status found the release degraded, having found it healthy (or never looked) before. */
        DEGRADED;

        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * One event, as the JSON webhooks receive it: {@code event}, {@code context}, {@code topic}, {@code phase}, {@code share},
     * {@code time} (ISO-8601), {@code details} (per kind; see the README).
     */
    record Event(Kind event, String context, String topic, Phase phase, double share, Instant time, Map<String, Object> details) {

        /** One line for people (the Slack format's text). */
        public String text() {
            StringBuilder b = new StringBuilder("canary-router ").append(context).append(" (topic ").append(topic).append("): ");
            b.append(switch (event) {
                case MIGRATION -> "migration done, routing " + canary.common.Text.percent(share) + " to the new version";
                case SHARE_CHANGE -> "share changed from " + pct(details.get("from")) + " to " + pct(details.get("to"));
                case GATE_FAILURE -> "gate " + details.get("gate") + " failed: " + details.get("reason");
                case HOLD -> "rollout holds at " + details.get("step_name") + " (on_failure hold): " + details.get("reason");
                case PROMOTE -> "promoted: the new version (" + details.get("group") + ") consumes the topic";
                case ROLLBACK -> "rolled back: the legacy version (" + details.get("group") + ") consumes the topic";
                case DEGRADED -> "DEGRADED: " + String.join("; ", problems(details.get("problems")));
            });
            return b.append(" (phase ").append(phase == null ? "none" : phase.word()).append(", ").append(time).append(")").toString();
        }

        private static String pct(Object share) {
            return share instanceof Number n ? canary.common.Text.percent(n.doubleValue()) : String.valueOf(share);
        }

        private static java.util.List<String> problems(Object p) {
            return p instanceof java.util.List<?> l ? l.stream().map(String::valueOf).toList() : java.util.List.of(String.valueOf(p));
        }
    }
}
