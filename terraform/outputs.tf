# setup.java reads these with `terraform output -json` (which includes sensitive values)
# and writes them into the state folder; they are never printed.

output "environment_id" {
  description = "Confluent Cloud environment id."
  value       = confluent_environment.main.id
}

output "kafka_cluster_id" {
  description = "Kafka cluster id."
  value       = confluent_kafka_cluster.main.id
}

output "bootstrap_endpoint" {
  description = "Kafka bootstrap endpoint as the API reports it, for example SASL_SSL://pkc-xxxxx.us-east-2.aws.confluent.cloud:9092."
  value       = confluent_kafka_cluster.main.bootstrap_endpoint
}

output "bootstrap_servers" {
  description = "The bootstrap endpoint without its scheme, for bootstrap.servers."
  value       = replace(confluent_kafka_cluster.main.bootstrap_endpoint, "SASL_SSL://", "")
}

output "schema_registry_endpoint" {
  description = "Schema Registry endpoint of the environment."
  value       = data.confluent_schema_registry_cluster.main.rest_endpoint
}

output "ksqldb_cluster_id" {
  description = "ksqlDB cluster id."
  value       = confluent_ksql_cluster.main.id
}

output "ksqldb_endpoint" {
  description = "ksqlDB REST endpoint."
  value       = confluent_ksql_cluster.main.rest_endpoint
}

output "service_accounts" {
  description = "The service accounts (id and display name): the kit's, ksqlDB's, Datagen's and the manager's."
  value = {
    for role, sa in {
      kit     = confluent_service_account.kit
      ksqldb  = confluent_service_account.ksqldb
      datagen = confluent_service_account.datagen
      manager = confluent_service_account.manager
    } : role => { id = sa.id, display_name = sa.display_name }
  }
}

output "topic" {
  description = "The original topic."
  value       = confluent_kafka_topic.original.topic_name
}

output "kafka_api_key" {
  description = "Kafka API key owned by the kit's service account."
  value       = confluent_api_key.kafka.id
  sensitive   = true
}

output "kafka_api_secret" {
  description = "Kafka API secret."
  value       = confluent_api_key.kafka.secret
  sensitive   = true
}

output "ksqldb_api_key" {
  description = "ksqlDB API key owned by the kit's service account."
  value       = confluent_api_key.ksqldb.id
  sensitive   = true
}

output "ksqldb_api_secret" {
  description = "ksqlDB API secret."
  value       = confluent_api_key.ksqldb.secret
  sensitive   = true
}
