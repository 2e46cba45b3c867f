# Landing bucket for source extracts (Postgres CSVs, S3 inventory drops, Kafka batches) and the
# read-only IAM role the Airflow (MWAA) execution role assumes to ingest them.

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

locals {
  tags = merge(var.tags, { "northstar:component" = "landing-bucket" })

  reader_object_arns = [for prefix in var.read_prefixes : "${aws_s3_bucket.landing.arn}/${prefix}*"]
  reader_list_keys   = [for prefix in var.read_prefixes : "${prefix}*"]
}

# --- Encryption -------------------------------------------------------------------------------

resource "aws_kms_key" "landing" {
  description             = "SSE-KMS key of the ${var.bucket_name} landing bucket"
  deletion_window_in_days = var.kms_deletion_window_days
  enable_key_rotation     = true
  tags                    = local.tags

  # The account administers the key; S3 uses it on the bucket's behalf (the reader role is
  # granted kms:Decrypt through S3 only, below).
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "landing" {
  name          = "alias/${var.name_prefix}-landing"
  target_key_id = aws_kms_key.landing.key_id
}

# --- Bucket -----------------------------------------------------------------------------------

resource "aws_s3_bucket" "landing" {
  bucket = var.bucket_name
  tags   = local.tags
}

resource "aws_s3_bucket_logging" "landing" {
  bucket        = aws_s3_bucket.landing.id
  target_bucket = var.access_log_bucket
  target_prefix = "${var.bucket_name}/"
}

resource "aws_s3_bucket_ownership_controls" "landing" {
  bucket = aws_s3_bucket.landing.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "landing" {
  bucket = aws_s3_bucket.landing.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "landing" {
  bucket = aws_s3_bucket.landing.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "landing" {
  bucket = aws_s3_bucket.landing.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.landing.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "landing" {
  bucket = aws_s3_bucket.landing.id

  rule {
    id     = "tier-and-expire-landed-files"
    status = "Enabled"

    filter {}

    transition {
      days          = var.transition_to_ia_days
      storage_class = "STANDARD_IA"
    }

    expiration {
      days = var.expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.landing]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.landing.arn, "${aws_s3_bucket.landing.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "landing" {
  bucket = aws_s3_bucket.landing.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.landing]
}

# --- Read-only role for Airflow -----------------------------------------------------------------

data "aws_iam_policy_document" "reader_trust" {
  statement {
    sid     = "AllowAirflowExecutionRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = var.reader_principal_arns
    }
  }
}

resource "aws_iam_role" "reader" {
  name                 = "${var.name_prefix}-landing-reader"
  description          = "Read-only access to the ${var.bucket_name} landing bucket for Airflow."
  assume_role_policy   = data.aws_iam_policy_document.reader_trust.json
  max_session_duration = 3600
  tags                 = local.tags
}

data "aws_iam_policy_document" "reader" {
  statement {
    sid       = "LocateBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [aws_s3_bucket.landing.arn]
  }

  statement {
    sid       = "ListLandingPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.landing.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.reader_list_keys
    }
  }

  statement {
    sid       = "ReadLandedObjects"
    actions   = ["s3:GetObject", "s3:GetObjectVersion"]
    resources = local.reader_object_arns
  }

  statement {
    sid       = "DecryptThroughS3Only"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.landing.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "reader" {
  name   = "landing-read-only"
  role   = aws_iam_role.reader.id
  policy = data.aws_iam_policy_document.reader.json
}
