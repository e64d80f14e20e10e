package canary;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import com.sun.net.httpserver.HttpServer;

/**
 * What the tests' webhooks run on: a real HTTP server on loopback that records every POST (path and body) and answers 204,
 * and beside it a socket that accepts connections and never answers (a webhook that hangs).
 */
final class WebhookReceiver implements AutoCloseable {

    record Post(String path, String body) {
    }

    private final HttpServer server;
    private final ServerSocket hanging;
    private final List<Post> posts = new ArrayList<>();
    private final List<Socket> held = new ArrayList<>();

    WebhookReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        server.createContext("/", x -> {
            try (InputStream in = x.getRequestBody()) {
                String body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                synchronized (posts) {
                    posts.add(new Post(x.getRequestURI().getPath(), body));
                }
            }
            x.sendResponseHeaders(x.getRequestURI().getPath().endsWith("/failing") ? 500 : 204, -1);
            x.close();
        });
        server.setExecutor(java.util.concurrent.Executors.newFixedThreadPool(4));
        server.start();
        hanging = new ServerSocket(0, 16, java.net.InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!hanging.isClosed()) {
                try {
                    Socket s = hanging.accept();
                    synchronized (held) {
                        held.add(s); // read nothing, answer nothing
                    }
                } catch (IOException e) {
                    return;
                }
            }
        }, "hanging-webhook");
        t.setDaemon(true);
        t.start();
    }

    /** The URL of {@code path} on the answering server. */
    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    /** A URL whose server accepts the connection and never answers. */
    String hangingUrl() {
        return "http://127.0.0.1:" + hanging.getLocalPort() + "/never";
    }

    /** The bodies posted to {@code path}, in order. */
    List<String> bodies(String path) {
        synchronized (posts) {
            return posts.stream().filter(p -> p.path().equals(path)).map(Post::body).toList();
        }
    }

    @Override
    public void close() throws IOException {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
        hanging.close();
        synchronized (held) {
            for (Socket s : held) {
                s.close();
            }
        }
    }
}
