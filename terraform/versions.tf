terraform {
  required_version = ">= 1.5.0"

  required_providers {
    confluent = {
      source  = "confluentinc/confluent"
      version = "~> 2.0"
    }
  }
}

# The Cloud API key and secret come from variables fed by the environment
# (TF_VAR_confluent_cloud_api_key / TF_VAR_confluent_cloud_api_secret), never from a file.
provider "confluent" {
  cloud_api_key    = var.confluent_cloud_api_key
  cloud_api_secret = var.confluent_cloud_api_secret
}
