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
  description = "The context name (setup.java passes it): the environment's name and the prefix of every other display name. Service account names also carry the environment id, so they are unique in the organization."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9]([A-Za-z0-9_-]{0,38}[A-Za-z0-9])?$", var.name_prefix))
    error_message = "The name must be 1 to 40 letters, digits, '-' or '_', starting and ending with a letter or digit (an environment name; service account names add about 20 characters to it and must stay within 64)."
  }
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
