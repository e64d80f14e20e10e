variable "confluent_cloud_api_key" {
  description = "Confluent Cloud API key (a Cloud resource-management key, not a Kafka key). Pass it as TF_VAR_confluent_cloud_api_key."
  type        = string
  sensitive   = true
}

variable "confluent_cloud_api_secret" {
  description = "Confluent Cloud API secret. Pass it as TF_VAR_confluent_cloud_api_secret."
  type        = string
  sensitive   = true
}

variable "cloud" {
  description = "Cloud provider of the Kafka cluster: AWS, GCP or AZURE."
  type        = string
  default     = "AWS"

  validation {
    condition     = contains(["AWS", "GCP", "AZURE"], var.cloud)
    error_message = "The cloud must be AWS, GCP or AZURE."
  }
}

variable "region" {
  description = "Region of the Kafka cluster in that cloud, for example us-east-2, europe-west1 or westeurope."
  type        = string
  default     = "us-east-2"
}

variable "name_prefix" {
  description = "Prefix of every display name, so several demos can share an organization."
  type        = string
  default     = "canary-router"
}

variable "topic" {
  description = "The original topic the producers write and the services consume."
  type        = string
  default     = "orders"
}

variable "partitions" {
  description = "Partition count of the original topic."
  type        = number
  default     = 6
}

variable "stream_governance_package" {
  description = "Stream Governance package of the environment (it provisions Schema Registry): ESSENTIALS or ADVANCED."
  type        = string
  default     = "ESSENTIALS"

  validation {
    condition     = contains(["ESSENTIALS", "ADVANCED"], var.stream_governance_package)
    error_message = "The Stream Governance package must be ESSENTIALS or ADVANCED."
  }
}

variable "ksqldb_csu" {
  description = "Confluent Streaming Units of the ksqlDB cluster (1 is the smallest size)."
  type        = number
  default     = 1

  validation {
    condition     = var.ksqldb_csu >= 1
    error_message = "The ksqlDB cluster needs at least 1 CSU."
  }
}

variable "datagen_quickstart" {
  description = "Datagen quickstart that produces into the original topic."
  type        = string
  default     = "ORDERS"
}
