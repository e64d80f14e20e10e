package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.junit.jupiter.api.Test;

import canary.common.Waits;

class LocalBrokerTest {

    @Test
    void a_started_broker_answers_and_creates_topics() throws Exception {
        try (Admin admin = TestBroker.admin()) {
            assertFalse(admin.describeCluster().nodes().get().isEmpty());
            String topic = TestBroker.unique("smoke");
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
            // The broker's metadata learns of the topic a moment after the controller created it: ask until it does.
            AtomicInteger partitions = new AtomicInteger(-1);
            Waits.until("the broker knows " + topic, Duration.ofSeconds(30), Waits.quiet(), () -> {
                try {
                    partitions.set(admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size());
                    return true;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                        return false;
                    }
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            });
            assertEquals(3, partitions.get());
        }
    }
}
