terraform {
  required_version = ">= 1.5.0"

  required_providers {
    confluent = {
      source = "confluentinc/confluent"
      # The minor version this configuration was written against (its resources and attributes as of
      # 2.83.0, the version of the provider's ksql-acls example); patch releases only. The exact version
      # and its checksums belong in .terraform.lock.hcl beside this file (see README.md, "The provider
      # version and the lock file").
      version = "~> 2.83.0"
    }
  }
}

# The Cloud API key and secret come from variables fed by the environment
# (TF_VAR_confluent_cloud_api_key / TF_VAR_confluent_cloud_api_secret), never from a file.
provider "confluent" {
  cloud_api_key    = var.confluent_cloud_api_key
  cloud_api_secret = var.confluent_cloud_api_secret
}
