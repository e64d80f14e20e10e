package canary;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.List;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.junit.jupiter.api.Test;

class LocalBrokerTest {

    @Test
    void a_started_broker_answers_and_creates_topics() throws Exception {
        try (Admin admin = TestBroker.admin()) {
            assertFalse(admin.describeCluster().nodes().get().isEmpty());
            String topic = TestBroker.unique("smoke");
            admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1))).all().get();
            assertEquals(3, admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size());
        }
    }
}
