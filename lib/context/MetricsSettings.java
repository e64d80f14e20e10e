package canary.context;

import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Where router instances serve their Prometheus metrics, from the {@code metrics} key of the context: instance N listens
 * on {@code host:port + N}, so that the instances of one host never share a port. Off (no port opened) unless the key
 * gives a port; loopback unless it gives a host.
 *
 * <pre>
 * metrics:
 *   port: 9404          # router instance 0 on 9404, instance 1 on 9405, ...
 *   host: 127.0.0.1     # the address to listen on (0.0.0.0 for a Prometheus on another host)
 * </pre>
 */
public record MetricsSettings(String host, int port) {

    public static final String KEY = "metrics";
    public static final String LOOPBACK = "127.0.0.1";

    /** No port: the router serves no metrics. */
    public static MetricsSettings off() {
        return new MetricsSettings(LOOPBACK, 0);
    }

    public boolean on() {
        return port > 0;
    }

    /** The port of router instance {@code instance}. */
    public int port(int instance) {
        return port + instance;
    }

    public static MetricsSettings of(Context ctx) {
        JsonNode node = ctx.extensions().get(KEY);
        if (node == null || node.isNull()) {
            return off();
        }
        Map<String, JsonNode> m = Context.mapping(ctx.file(), node, KEY, Set.of("port", "host"));
        int port = 0;
        JsonNode p = m.get("port");
        if (p != null && !p.isNull()) {
            if (!p.isIntegralNumber() || p.asLong() < 0 || p.asLong() > 65535) {
                throw new Context.ContextException(ctx.file() + ": key 'metrics.port': expected a port from 1 to 65535 (router instance N"
                        + " listens on port + N; 0 for none), got " + Context.describe(p));
            }
            port = p.asInt();
        }
        String host = LOOPBACK;
        JsonNode h = m.get("host");
        if (h != null && !h.isNull()) {
            if (!h.isTextual() || h.asText().isBlank() || h.asText().contains(" ")) {
                throw new Context.ContextException(ctx.file() + ": key 'metrics.host': expected an address to listen on such as 127.0.0.1"
                        + " or 0.0.0.0, got " + Context.describe(h));
            }
            host = h.asText();
        }
        return new MetricsSettings(host, port);
    }
}
