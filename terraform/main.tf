# Confluent Cloud resources for `platform: confluent-cloud` with `engine: ksqldb`:
# an environment with Stream Governance (which brings Schema Registry), a basic Kafka cluster,
# a service account with its role bindings, a ksqlDB cluster, one Kafka and one ksqlDB API key
# owned by the service account, the original topic and a Datagen connector writing into it.

resource "confluent_environment" "main" {
  display_name = var.name_prefix

  stream_governance {
    package = var.stream_governance_package
  }
}

resource "confluent_kafka_cluster" "main" {
  display_name = "${var.name_prefix}-kafka"
  availability = "SINGLE_ZONE"
  cloud        = var.cloud
  region       = var.region
  basic {}

  environment {
    id = confluent_environment.main.id
  }
}

# In provider 2.x Schema Registry is not a resource: the environment's Stream Governance package
# provisions it, and this data source reads it once the environment has a cluster.
data "confluent_schema_registry_cluster" "main" {
  environment {
    id = confluent_environment.main.id
  }

  depends_on = [confluent_kafka_cluster.main]
}

# One service account runs everything the toolkit does: it owns the Kafka and ksqlDB API keys,
# the ksqlDB cluster runs with its identity, and the Datagen connector writes as it.
resource "confluent_service_account" "router" {
  display_name = "${var.name_prefix}-sa"
  description  = "canary-router: routes ${var.topic} between the legacy and new versions of a consumer service"
}

# EnvironmentAdmin covers the Kafka cluster (topics, consumer groups, transactional ids),
# the Schema Registry subjects ksqlDB registers, and the connector.
resource "confluent_role_binding" "router_environment_admin" {
  principal   = "User:${confluent_service_account.router.id}"
  role_name   = "EnvironmentAdmin"
  crn_pattern = confluent_environment.main.resource_name
}

resource "confluent_ksql_cluster" "main" {
  display_name = "${var.name_prefix}-ksqldb"
  csu          = var.ksqldb_csu

  kafka_cluster {
    id = confluent_kafka_cluster.main.id
  }

  credential_identity {
    id = confluent_service_account.router.id
  }

  environment {
    id = confluent_environment.main.id
  }

  depends_on = [
    confluent_role_binding.router_environment_admin,
    data.confluent_schema_registry_cluster.main,
  ]
}

# Access to the ksqlDB cluster's REST API (statements, PAUSE/RESUME, SHOW QUERIES).
resource "confluent_role_binding" "router_ksql_admin" {
  principal   = "User:${confluent_service_account.router.id}"
  role_name   = "KsqlAdmin"
  crn_pattern = confluent_ksql_cluster.main.resource_name
}

resource "confluent_api_key" "kafka" {
  display_name = "${var.name_prefix}-kafka-key"
  description  = "Kafka API key of the canary-router service account"

  owner {
    id          = confluent_service_account.router.id
    api_version = confluent_service_account.router.api_version
    kind        = confluent_service_account.router.kind
  }

  managed_resource {
    id          = confluent_kafka_cluster.main.id
    api_version = confluent_kafka_cluster.main.api_version
    kind        = confluent_kafka_cluster.main.kind

    environment {
      id = confluent_environment.main.id
    }
  }

  # The key is usable only once its owner has a role on the cluster.
  depends_on = [confluent_role_binding.router_environment_admin]
}

resource "confluent_api_key" "ksqldb" {
  display_name = "${var.name_prefix}-ksqldb-key"
  description  = "ksqlDB API key of the canary-router service account"

  owner {
    id          = confluent_service_account.router.id
    api_version = confluent_service_account.router.api_version
    kind        = confluent_service_account.router.kind
  }

  managed_resource {
    id          = confluent_ksql_cluster.main.id
    api_version = confluent_ksql_cluster.main.api_version
    kind        = confluent_ksql_cluster.main.kind

    environment {
      id = confluent_environment.main.id
    }
  }

  depends_on = [confluent_role_binding.router_ksql_admin]
}

resource "confluent_kafka_topic" "original" {
  kafka_cluster {
    id = confluent_kafka_cluster.main.id
  }

  topic_name       = var.topic
  partitions_count = var.partitions
  rest_endpoint    = confluent_kafka_cluster.main.rest_endpoint

  credentials {
    key    = confluent_api_key.kafka.id
    secret = confluent_api_key.kafka.secret
  }
}

# The demo producer: Datagen writes ORDERS records as JSON with their schema in Schema Registry.
resource "confluent_connector" "datagen" {
  environment {
    id = confluent_environment.main.id
  }

  kafka_cluster {
    id = confluent_kafka_cluster.main.id
  }

  config_sensitive = {}

  config_nonsensitive = {
    "connector.class"          = "DatagenSource"
    "name"                     = "${var.name_prefix}-datagen-${var.topic}"
    "kafka.auth.mode"          = "SERVICE_ACCOUNT"
    "kafka.service.account.id" = confluent_service_account.router.id
    "kafka.topic"              = confluent_kafka_topic.original.topic_name
    "output.data.format"       = "JSON_SR"
    "quickstart"               = var.datagen_quickstart
    "tasks.max"                = "1"
  }

  depends_on = [
    confluent_role_binding.router_environment_admin,
    data.confluent_schema_registry_cluster.main,
  ]
}
