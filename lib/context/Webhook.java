package canary.context;

import java.net.URI;
import java.time.Duration;

/**
 * One entry of the context file's {@code notifications}: where the kit posts its events, in which format, and the longest a
 * post may delay the step that causes it.
 */
public record Webhook(URI url, Format format, Duration timeout) {

    /** {@code json}: the event as a JSON object; {@code slack}: {@code {"text": "..."}}, which Slack's incoming webhooks take. */
    public enum Format {
        JSON, SLACK;

        public String word() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
