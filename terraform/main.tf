# Confluent Cloud resources for `platform: confluent-cloud` with `engine: ksqldb`, one set per context
# (setup.java keeps each state folder's state in <state_dir>/terraform/):
# an environment with Stream Governance (which brings Schema Registry), a basic Kafka cluster, a ksqlDB
# cluster, the original topic, a Datagen connector writing into it, and four service accounts with
# least privilege (see README.md, "Who may do what"):
#
#   <name>-kit-<env>      the kit, the router and the demo versions: owns the Kafka and ksqlDB API keys
#                         setup writes into the state folder
#   <name>-ksqldb-<env>   the identity the ksqlDB cluster runs its queries with
#   <name>-datagen-<env>  the Datagen connector (the demo producer)
#   <name>-manager-<env>  creates the topic and the ACLs; its key never leaves the Terraform state
#
# Service account names are unique in an organization: the context name and the environment id make them so.
# On a basic cluster, access to topics, groups and transactional ids is granted with ACLs (role bindings
# on those need a Standard, Enterprise or Dedicated cluster); the grants follow the provider's ksql-acls
# example, the ACL form of its ksql-rbac example.

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

# ------------------------------------------------------------------ service accounts

resource "confluent_service_account" "kit" {
  display_name = "${var.name_prefix}-kit-${confluent_environment.main.id}"
  description  = "canary-router context ${var.name_prefix}: routes ${var.topic} between the legacy and new versions of a consumer service"
}

resource "confluent_service_account" "ksqldb" {
  display_name = "${var.name_prefix}-ksqldb-${confluent_environment.main.id}"
  description  = "canary-router context ${var.name_prefix}: the identity of the ksqlDB cluster's queries"
}

resource "confluent_service_account" "datagen" {
  display_name = "${var.name_prefix}-datagen-${confluent_environment.main.id}"
  description  = "canary-router context ${var.name_prefix}: the Datagen connector writing ${var.topic}"
}

resource "confluent_service_account" "manager" {
  display_name = "${var.name_prefix}-manager-${confluent_environment.main.id}"
  description  = "canary-router context ${var.name_prefix}: creates the topic and the ACLs of the Kafka cluster"
}

# ------------------------------------------------------------------ the manager: topic and ACLs

resource "confluent_role_binding" "manager_cluster_admin" {
  principal   = "User:${confluent_service_account.manager.id}"
  role_name   = "CloudClusterAdmin"
  crn_pattern = confluent_kafka_cluster.main.rbac_crn
}

resource "confluent_api_key" "manager" {
  display_name = "${var.name_prefix}-manager-kafka-key"
  description  = "Kafka API key of the manager service account: Terraform creates the topic and the ACLs with it"

  owner {
    id          = confluent_service_account.manager.id
    api_version = confluent_service_account.manager.api_version
    kind        = confluent_service_account.manager.kind
  }

  managed_resource {
    id          = confluent_kafka_cluster.main.id
    api_version = confluent_kafka_cluster.main.api_version
    kind        = confluent_kafka_cluster.main.kind

    environment {
      id = confluent_environment.main.id
    }
  }

  # The key can create topics and ACLs only once its owner has the role.
  depends_on = [confluent_role_binding.manager_cluster_admin]
}

resource "confluent_kafka_topic" "original" {
  kafka_cluster {
    id = confluent_kafka_cluster.main.id
  }

  topic_name       = var.topic
  partitions_count = var.partitions
  rest_endpoint    = confluent_kafka_cluster.main.rest_endpoint

  credentials {
    key    = confluent_api_key.manager.id
    secret = confluent_api_key.manager.secret
  }
}

# Every ACL of the Kafka cluster, one line each: who, on what, which operation.
locals {
  kit     = "User:${confluent_service_account.kit.id}"
  ksqldb  = "User:${confluent_service_account.ksqldb.id}"
  datagen = "User:${confluent_service_account.datagen.id}"

  acls = {
    # The kit reads the original topic and never writes it: the producers' topic stays theirs.
    kit_read_original     = { principal = local.kit, type = "TOPIC", name = var.topic, pattern = "LITERAL", operation = "READ" }
    kit_describe_original = { principal = local.kit, type = "TOPIC", name = var.topic, pattern = "LITERAL", operation = "DESCRIBE" }
    kit_configs_original  = { principal = local.kit, type = "TOPIC", name = var.topic, pattern = "LITERAL", operation = "DESCRIBE_CONFIGS" }
    # <topic>_legacy, <topic>_new, <topic>_canary_state (created, written, deleted), <topic>_rated (counted); the router
    # grows <topic>_legacy and <topic>_new when partitions are added to <topic> during a release (ALTER).
    kit_read_derived     = { principal = local.kit, type = "TOPIC", name = "${var.topic}_", pattern = "PREFIXED", operation = "READ" }
    kit_write_derived    = { principal = local.kit, type = "TOPIC", name = "${var.topic}_", pattern = "PREFIXED", operation = "WRITE" }
    kit_create_derived   = { principal = local.kit, type = "TOPIC", name = "${var.topic}_", pattern = "PREFIXED", operation = "CREATE" }
    kit_delete_derived   = { principal = local.kit, type = "TOPIC", name = "${var.topic}_", pattern = "PREFIXED", operation = "DELETE" }
    kit_alter_derived    = { principal = local.kit, type = "TOPIC", name = "${var.topic}_", pattern = "PREFIXED", operation = "ALTER" }
    kit_describe_derived = { principal = local.kit, type = "TOPIC", name = "${var.topic}_", pattern = "PREFIXED", operation = "DESCRIBE" }
    kit_configs_derived  = { principal = local.kit, type = "TOPIC", name = "${var.topic}_", pattern = "PREFIXED", operation = "DESCRIBE_CONFIGS" }
    # Consumer groups: the versions' groups (whatever later releases call them), the router's, ksqlDB's (their
    # committed offsets are the hand-over position). The topic ACLs above bound which offsets they reach.
    kit_read_groups     = { principal = local.kit, type = "GROUP", name = "*", pattern = "LITERAL", operation = "READ" }
    kit_describe_groups = { principal = local.kit, type = "GROUP", name = "*", pattern = "LITERAL", operation = "DESCRIBE" }
    kit_delete_router   = { principal = local.kit, type = "GROUP", name = "canary-router-", pattern = "PREFIXED", operation = "DELETE" }
    # Transactional ids of the state store (canary-state-<topic>-...) and the router (canary-router-<context>-...).
    kit_write_transactions    = { principal = local.kit, type = "TRANSACTIONAL_ID", name = "canary-", pattern = "PREFIXED", operation = "WRITE" }
    kit_describe_transactions = { principal = local.kit, type = "TRANSACTIONAL_ID", name = "canary-", pattern = "PREFIXED", operation = "DESCRIBE" }

    # ksqlDB's identity, as in the provider's ksql-acls example (its own topics, groups and transactional ids are
    # below) ...
    ksqldb_describe_cluster = { principal = local.ksqldb, type = "CLUSTER", name = "kafka-cluster", pattern = "LITERAL", operation = "DESCRIBE" }
    ksqldb_configs_cluster  = { principal = local.ksqldb, type = "CLUSTER", name = "kafka-cluster", pattern = "LITERAL", operation = "DESCRIBE_CONFIGS" }
    ksqldb_describe_topics  = { principal = local.ksqldb, type = "TOPIC", name = "*", pattern = "LITERAL", operation = "DESCRIBE" }
    ksqldb_configs_topics   = { principal = local.ksqldb, type = "TOPIC", name = "*", pattern = "LITERAL", operation = "DESCRIBE_CONFIGS" }
    ksqldb_describe_groups  = { principal = local.ksqldb, type = "GROUP", name = "*", pattern = "LITERAL", operation = "DESCRIBE" }
    ksqldb_configs_groups   = { principal = local.ksqldb, type = "GROUP", name = "*", pattern = "LITERAL", operation = "DESCRIBE_CONFIGS" }
    # ... and the release's topics: it reads the original and owns the three it writes.
    ksqldb_read_original = { principal = local.ksqldb, type = "TOPIC", name = var.topic, pattern = "LITERAL", operation = "READ" }
    ksqldb_all_rated     = { principal = local.ksqldb, type = "TOPIC", name = "${var.topic}_rated", pattern = "LITERAL", operation = "ALL" }
    ksqldb_all_legacy    = { principal = local.ksqldb, type = "TOPIC", name = "${var.topic}_legacy", pattern = "LITERAL", operation = "ALL" }
    ksqldb_all_new       = { principal = local.ksqldb, type = "TOPIC", name = "${var.topic}_new", pattern = "LITERAL", operation = "ALL" }

    # The Datagen connector, as in the provider's managed-datagen-source-connector example: it writes the original topic.
    datagen_describe_cluster = { principal = local.datagen, type = "CLUSTER", name = "kafka-cluster", pattern = "LITERAL", operation = "DESCRIBE" }
    datagen_write_original   = { principal = local.datagen, type = "TOPIC", name = var.topic, pattern = "LITERAL", operation = "WRITE" }
  }

  # ksqlDB names its command topic's transactional id after its cluster's prefix (for example pksqlc-abc12), and its
  # internal topics, groups and queries' transactional ids after _confluent-ksql-<prefix>: known once the cluster is.
  ksql_prefix   = confluent_ksql_cluster.main.topic_prefix
  ksql_internal = "_confluent-ksql-${confluent_ksql_cluster.main.topic_prefix}"

  ksqldb_internal_acls = {
    describe_command_txn = { type = "TRANSACTIONAL_ID", name = local.ksql_prefix, pattern = "LITERAL", operation = "DESCRIBE" }
    write_command_txn    = { type = "TRANSACTIONAL_ID", name = local.ksql_prefix, pattern = "LITERAL", operation = "WRITE" }
    all_own_topics       = { type = "TOPIC", name = local.ksql_prefix, pattern = "PREFIXED", operation = "ALL" }
    all_internal_topics  = { type = "TOPIC", name = local.ksql_internal, pattern = "PREFIXED", operation = "ALL" }
    all_internal_groups  = { type = "GROUP", name = local.ksql_internal, pattern = "PREFIXED", operation = "ALL" }
    # Beyond the example: the queries run exactly-once, their producers are transactional.
    describe_query_txn = { type = "TRANSACTIONAL_ID", name = local.ksql_internal, pattern = "PREFIXED", operation = "DESCRIBE" }
    write_query_txn    = { type = "TRANSACTIONAL_ID", name = local.ksql_internal, pattern = "PREFIXED", operation = "WRITE" }
  }
}

resource "confluent_kafka_acl" "grants" {
  for_each = local.acls

  kafka_cluster {
    id = confluent_kafka_cluster.main.id
  }

  resource_type = each.value.type
  resource_name = each.value.name
  pattern_type  = each.value.pattern
  principal     = each.value.principal
  host          = "*"
  operation     = each.value.operation
  permission    = "ALLOW"
  rest_endpoint = confluent_kafka_cluster.main.rest_endpoint

  credentials {
    key    = confluent_api_key.manager.id
    secret = confluent_api_key.manager.secret
  }
}

resource "confluent_kafka_acl" "ksqldb_internal" {
  for_each = local.ksqldb_internal_acls

  kafka_cluster {
    id = confluent_kafka_cluster.main.id
  }

  resource_type = each.value.type
  resource_name = each.value.name
  pattern_type  = each.value.pattern
  principal     = local.ksqldb
  host          = "*"
  operation     = each.value.operation
  permission    = "ALLOW"
  rest_endpoint = confluent_kafka_cluster.main.rest_endpoint

  credentials {
    key    = confluent_api_key.manager.id
    secret = confluent_api_key.manager.secret
  }
}

# ------------------------------------------------------------------ Schema Registry

# ksqlDB reads the producers' schema of <topic> and registers the derived topics' schemas.
resource "confluent_role_binding" "ksqldb_subjects" {
  principal   = "User:${confluent_service_account.ksqldb.id}"
  role_name   = "ResourceOwner"
  crn_pattern = "${data.confluent_schema_registry_cluster.main.resource_name}/subject=${var.topic}*"
}

# Datagen registers the value schema of the records it writes (output.data.format JSON_SR).
resource "confluent_role_binding" "datagen_subject" {
  principal   = "User:${confluent_service_account.datagen.id}"
  role_name   = "DeveloperWrite"
  crn_pattern = "${data.confluent_schema_registry_cluster.main.resource_name}/subject=${var.topic}-value"
}

# ------------------------------------------------------------------ ksqlDB

resource "confluent_ksql_cluster" "main" {
  display_name = "${var.name_prefix}-ksqldb"
  csu          = var.ksqldb_csu

  kafka_cluster {
    id = confluent_kafka_cluster.main.id
  }

  credential_identity {
    id = confluent_service_account.ksqldb.id
  }

  environment {
    id = confluent_environment.main.id
  }

  # As the provider documents: the cluster is created once Schema Registry exists and its identity may use it.
  depends_on = [
    confluent_role_binding.ksqldb_subjects,
    data.confluent_schema_registry_cluster.main,
  ]
}

# Subjects of ksqlDB's internal topics (repartition and changelog topics of schema formats), named after its prefix.
resource "confluent_role_binding" "ksqldb_internal_subjects" {
  principal   = "User:${confluent_service_account.ksqldb.id}"
  role_name   = "ResourceOwner"
  crn_pattern = "${data.confluent_schema_registry_cluster.main.resource_name}/subject=${local.ksql_internal}*"
}

# The ksqlDB cluster's identity needs the cluster itself, as in the provider's ksql examples.
resource "confluent_role_binding" "ksqldb_ksql_admin" {
  principal   = "User:${confluent_service_account.ksqldb.id}"
  role_name   = "KsqlAdmin"
  crn_pattern = confluent_ksql_cluster.main.resource_name
}

# The kit's access to the REST API (statements, PAUSE/RESUME, SHOW QUERIES), with the ksqlDB API key below.
resource "confluent_role_binding" "kit_ksql_admin" {
  principal   = "User:${confluent_service_account.kit.id}"
  role_name   = "KsqlAdmin"
  crn_pattern = confluent_ksql_cluster.main.resource_name
}

# ------------------------------------------------------------------ the kit's keys (written into the state folder)

resource "confluent_api_key" "kafka" {
  display_name = "${var.name_prefix}-kit-kafka-key"
  description  = "Kafka API key of the canary-router kit service account"

  owner {
    id          = confluent_service_account.kit.id
    api_version = confluent_service_account.kit.api_version
    kind        = confluent_service_account.kit.kind
  }

  managed_resource {
    id          = confluent_kafka_cluster.main.id
    api_version = confluent_kafka_cluster.main.api_version
    kind        = confluent_kafka_cluster.main.kind

    environment {
      id = confluent_environment.main.id
    }
  }
}

# The provider waits 5 minutes after creating a ksqlDB API key: it has no way to tell when the key works.
resource "confluent_api_key" "ksqldb" {
  display_name = "${var.name_prefix}-kit-ksqldb-key"
  description  = "ksqlDB API key of the canary-router kit service account"

  owner {
    id          = confluent_service_account.kit.id
    api_version = confluent_service_account.kit.api_version
    kind        = confluent_service_account.kit.kind
  }

  managed_resource {
    id          = confluent_ksql_cluster.main.id
    api_version = confluent_ksql_cluster.main.api_version
    kind        = confluent_ksql_cluster.main.kind

    environment {
      id = confluent_environment.main.id
    }
  }

  depends_on = [confluent_role_binding.kit_ksql_admin]
}

# ------------------------------------------------------------------ the demo producer

# Datagen writes ORDERS records as JSON with their schema in Schema Registry.
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
    "kafka.service.account.id" = confluent_service_account.datagen.id
    "kafka.topic"              = confluent_kafka_topic.original.topic_name
    "output.data.format"       = "JSON_SR"
    "quickstart"               = var.datagen_quickstart
    "tasks.max"                = "1"
  }

  depends_on = [
    confluent_kafka_acl.grants,
    confluent_role_binding.datagen_subject,
  ]
}
