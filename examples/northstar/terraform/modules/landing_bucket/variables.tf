variable "name_prefix" {
  description = "Prefix for the names of the IAM and KMS resources, e.g. \"northstar-prod\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-40 lowercase letters, digits or hyphens."
  }
}

variable "bucket_name" {
  description = "Globally unique name of the landing bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name."
  }
}

variable "access_log_bucket" {
  description = "Bucket that receives the landing bucket's S3 server access logs."
  type        = string
}

variable "reader_principal_arns" {
  description = "IAM role ARNs allowed to assume the reader role (the Airflow/MWAA execution role)."
  type        = list(string)

  validation {
    condition     = length(var.reader_principal_arns) > 0
    error_message = "At least one reader principal is required."
  }
}

variable "read_prefixes" {
  description = "Key prefixes (with trailing slash) the reader role may list and read."
  type        = list(string)
  default     = ["postgres/", "s3/", "kafka/"]

  validation {
    condition     = alltrue([for prefix in var.read_prefixes : endswith(prefix, "/")])
    error_message = "Every read prefix must end with \"/\"."
  }
}

variable "transition_to_ia_days" {
  description = "Age in days after which landed files move to STANDARD_IA (S3 minimum: 30)."
  type        = number
  default     = 30

  validation {
    condition     = var.transition_to_ia_days >= 30
    error_message = "STANDARD_IA transitions require objects to be at least 30 days old."
  }
}

variable "expiration_days" {
  description = "Age in days after which landed files are expired (kept for replays until then)."
  type        = number
  default     = 400
}

variable "noncurrent_version_retention_days" {
  description = "Days to keep overwritten or deleted object versions before removing them."
  type        = number
  default     = 30
}

variable "kms_deletion_window_days" {
  description = "Waiting period before the bucket's KMS key is deleted after destroy."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags applied to every resource of the module."
  type        = map(string)
  default     = {}
}
