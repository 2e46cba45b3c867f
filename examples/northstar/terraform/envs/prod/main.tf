# Production landing bucket for the Northstar pipelines (read by the prod MWAA environment).

terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }

  backend "s3" {
    bucket         = "northstar-terraform-state"
    key            = "data-platform/prod/landing-bucket.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "northstar-terraform-locks"
    encrypt        = true
  }
}

provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = {
      project     = "northstar"
      environment = "prod"
      owner       = "data-platform@northstar.example"
      managed_by  = "terraform"
    }
  }
}

# The MWAA environment (and its execution role) is managed by the platform stack.
data "aws_iam_role" "mwaa_execution" {
  name = "northstar-prod-mwaa-execution"
}

module "landing_bucket" {
  source = "../../modules/landing_bucket"

  name_prefix           = "northstar-prod"
  bucket_name           = "northstar-prod-landing"
  access_log_bucket     = "northstar-prod-s3-access-logs"
  reader_principal_arns = [data.aws_iam_role.mwaa_execution.arn]
  read_prefixes         = ["postgres/", "s3/", "kafka/"]
  expiration_days       = 400

  tags = {
    cost_center = "data-platform"
  }
}

# The execution role may assume the reader role, and nothing else is granted here.
data "aws_iam_policy_document" "mwaa_assume_landing_reader" {
  statement {
    sid       = "AssumeLandingReader"
    actions   = ["sts:AssumeRole"]
    resources = [module.landing_bucket.reader_role_arn]
  }
}

resource "aws_iam_role_policy" "mwaa_assume_landing_reader" {
  name   = "assume-landing-reader"
  role   = data.aws_iam_role.mwaa_execution.name
  policy = data.aws_iam_policy_document.mwaa_assume_landing_reader.json
}

output "landing_bucket_name" {
  description = "Bucket the upstream systems land their extracts in."
  value       = module.landing_bucket.bucket_name
}

output "landing_reader_role_arn" {
  description = "Role the MWAA execution role assumes to read the landing bucket."
  value       = module.landing_bucket.reader_role_arn
}
